; Fieldcase for Windows: an Inno Setup 6 script that wraps the PyInstaller bundle.
;
; Build on Windows (the CI workflow .github/workflows/windows-installer.yml does exactly this):
;   python -m installer.build                   -> dist\fieldcase\ and build\installer\fieldcase.ico
;   iscc /DAppVersion=0.1.0 installer\windows\fieldcase.iss
;                                               -> dist\fieldcase-0.1.0-setup.exe
; Sign it: iscc "/Ssigntool=signtool.exe sign /fd sha256 /tr http://timestamp.example /td sha256 $f"
;          /DSign installer\windows\fieldcase.iss
; It cannot be built on Linux (Inno Setup's compiler and Windows binaries are needed).
;
; Silent, per-machine install with the site policy preset (every parameter is optional):
;   fieldcase-0.1.0-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
;       /SERVER=https://fieldcase.example.gov.uk /CABUNDLE=\\fileserver\it\council-ca.pem
;       /AUTOLOCK=10 /MINPASSWORD=12 /SYNCINTERVAL=15 /BACKUPDAYS=7 /BACKUPWEEKS=4
;       /BACKUPMAXMB=2048 "/COUNCIL=Northshire Council" /PROXY=system
; The parameters write %PROGRAMDATA%\Fieldcase\site.toml (the whole file: keys not given keep
; Fieldcase's defaults). Without any of them an existing site.toml is left as it is. Either way
; that folder ends up readable, not writable, by ordinary users (SYSTEM and Administrators only).
; Uninstall keeps every user's data unless /REMOVEUSERDATA is given (or the person
; uninstalling says so when asked):
;   "C:\Program Files\Fieldcase\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES /REMOVEUSERDATA
; See docs/it-deployment.md.

#define AppName "Fieldcase"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\fieldcase"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\installer\fieldcase.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{9B3F6C2E-4D1A-4F7B-8E55-2C6A1D0F9A41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Fieldcase
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\Fieldcase
DefaultGroupName=Fieldcase
DisableProgramGroupPage=yes
DisableDirPage=auto
; Per-machine install: all users, Program Files, HKLM. Never falls back to a per-user install.
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=fieldcase-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\fieldcasew.exe
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no
SetupLogging=yes
ChangesEnvironment=yes
#ifdef Sign
SignTool=signtool
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "Put a Fieldcase shortcut on the desktop"; Flags: unchecked

[Dirs]
; Site policy lives here. LockSiteFolder (in [Code]) gives it a protected DACL after the files
; are in place: SYSTEM and Administrators may change it, Users may only read it, so a user can
; neither weaken the policy nor put a site.toml of their own there.
Name: "{commonappdata}\Fieldcase"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The commented template, only when there is no site.toml yet and no policy parameters given.
Source: "..\site.toml.template"; DestDir: "{commonappdata}\Fieldcase"; DestName: "site.toml"; Flags: onlyifdoesntexist uninsneveruninstall; Check: not HasSiteParams

[Icons]
Name: "{autoprograms}\Fieldcase"; Filename: "{app}\fieldcasew.exe"; Comment: "Offline-first, encrypted casework"
Name: "{autodesktop}\Fieldcase"; Filename: "{app}\fieldcasew.exe"; Tasks: desktopicon

[Registry]
; `fieldcase doctor` and the other commands on every user's PATH (the help desk asks for it).
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\fieldcasew.exe"; Description: "Open Fieldcase now"; Flags: nowait postinstall skipifsilent unchecked

[Code]
const
  EnvironmentKey = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';
  ProfileListKey = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList';
  CaFileName = 'ca-bundle.pem';
  // The same ranges as app/site.py; tests/installer checks that they agree.
  AutoLockMin = 1;      AutoLockMax = 240;
  MinPasswordMin = 10;  MinPasswordMax = 128;
  SyncIntervalMin = 1;  SyncIntervalMax = 1440;
  BackupDaysMin = 0;    BackupDaysMax = 90;
  BackupWeeksMin = 0;   BackupWeeksMax = 104;
  BackupMaxMbMin = 0;   BackupMaxMbMax = 1000000;

var
  ServerParam, CaBundleParam, AutoLockParam, MinPasswordParam, SyncIntervalParam: String;
  BackupDaysParam, BackupWeeksParam, BackupMaxMbParam, CouncilParam, ProxyParam: String;
  RemoveUserData: Boolean;

function SiteFolder(): String;
begin
  Result := ExpandConstant('{commonappdata}\Fieldcase');
end;

function HasSiteParams(): Boolean;
begin
  Result := (ServerParam <> '') or (CaBundleParam <> '') or (AutoLockParam <> '') or
            (MinPasswordParam <> '') or (SyncIntervalParam <> '') or
            (BackupDaysParam <> '') or (BackupWeeksParam <> '') or (BackupMaxMbParam <> '') or
            (CouncilParam <> '') or (ProxyParam <> '');
end;

function HasSwitch(const Name: String): Boolean;
var
  I: Integer;
  Arg: String;
begin
  Result := False;
  for I := 1 to ParamCount do
  begin
    Arg := Uppercase(ParamStr(I));
    if (Arg = '/' + Name) or (Arg = '/' + Name + '=1') or (Arg = '/' + Name + '=YES') then
      Result := True;
  end;
end;

function IsAscii(const S: String): Boolean;
var
  I: Integer;
begin
  Result := True;
  for I := 1 to Length(S) do
    if (Ord(S[I]) < 32) or (Ord(S[I]) > 126) then
      Result := False;
end;

function TomlString(const S: String): String;
var
  Value: String;
begin
  Value := S;
  StringChangeEx(Value, '\', '\\', True);
  StringChangeEx(Value, '"', '\"', True);
  Result := '"' + Value + '"';
end;

function ServerAllowed(const Url: String): Boolean;
var
  Lower: String;
begin
  Lower := Lowercase(Url);
  Result := (Pos('https://', Lower) = 1) and (Length(Lower) > Length('https://')) or
            (Pos('http://127.0.0.1', Lower) = 1) or (Pos('http://localhost', Lower) = 1) or
            (Pos('http://[::1]', Lower) = 1);
end;

function CheckNumber(const Name, Value: String; Low, High: Integer; var Problem: String): Boolean;
var
  N: Integer;
begin
  Result := True;
  if Value = '' then
    exit;
  N := StrToIntDef(Value, -1);
  if (N < Low) or (N > High) then
  begin
    Problem := '/' + Name + '=' + Value + ' is not allowed: it must be a whole number from ' +
               IntToStr(Low) + ' to ' + IntToStr(High) + '.';
    Result := False;
  end;
end;

function Refuse(const Problem: String): Boolean;
begin
  Log('Site policy parameter refused: ' + Problem);
  SuppressibleMsgBox(Problem + #13#10#13#10 +
    'Fieldcase was not installed. Correct the command line and run the installer again.',
    mbCriticalError, MB_OK, IDOK);
  Result := False;
end;

// The proxy setting site.toml accepts (sync/network.py): none, system, or an http(s) address
// with a host. Fieldcase checks it again when it reads site.toml.
function ProxyAllowed(const Value: String): Boolean;
var
  Lower, Rest: String;
begin
  Lower := Lowercase(Value);
  if (Lower = 'none') or (Lower = 'system') then
  begin
    Result := Value = Lower;
    exit;
  end;
  if Pos('http://', Lower) = 1 then
    Rest := Copy(Value, 8, Length(Value))
  else if Pos('https://', Lower) = 1 then
    Rest := Copy(Value, 9, Length(Value))
  else
  begin
    Result := False;
    exit;
  end;
  Result := (Rest <> '') and (Pos(' ', Rest) = 0) and (Copy(Rest, 1, 1) <> '/');
end;

function InitializeSetup(): Boolean;
var
  Problem: String;
begin
  ServerParam := Trim(ExpandConstant('{param:SERVER|}'));
  CaBundleParam := Trim(ExpandConstant('{param:CABUNDLE|}'));
  AutoLockParam := Trim(ExpandConstant('{param:AUTOLOCK|}'));
  MinPasswordParam := Trim(ExpandConstant('{param:MINPASSWORD|}'));
  SyncIntervalParam := Trim(ExpandConstant('{param:SYNCINTERVAL|}'));
  BackupDaysParam := Trim(ExpandConstant('{param:BACKUPDAYS|}'));
  BackupWeeksParam := Trim(ExpandConstant('{param:BACKUPWEEKS|}'));
  BackupMaxMbParam := Trim(ExpandConstant('{param:BACKUPMAXMB|}'));
  CouncilParam := Trim(ExpandConstant('{param:COUNCIL|}'));
  ProxyParam := Trim(ExpandConstant('{param:PROXY|}'));
  Result := True;
  if (ServerParam <> '') and not (IsAscii(ServerParam) and ServerAllowed(ServerParam)) then
  begin
    Result := Refuse('/SERVER=' + ServerParam + ' is not allowed: give the service''s https:// ' +
                     'address, such as https://fieldcase.example.gov.uk (plain http:// only ' +
                     'for 127.0.0.1 or localhost).');
    exit;
  end;
  if (CaBundleParam <> '') and not FileExists(CaBundleParam) then
  begin
    Result := Refuse('/CABUNDLE=' + CaBundleParam + ' names a file that does not exist. Give ' +
                     'the full path of the PEM file of the CAs to trust.');
    exit;
  end;
  if (CouncilParam <> '') and not (IsAscii(CouncilParam) and (Length(CouncilParam) <= 200)) then
  begin
    Result := Refuse('/COUNCIL=' + CouncilParam + ' is not allowed: give the council''s name ' +
                     'in plain letters, at most 200 characters (a name with accents can be ' +
                     'written into site.toml itself).');
    exit;
  end;
  if (ProxyParam <> '') and not (IsAscii(ProxyParam) and ProxyAllowed(ProxyParam)) then
  begin
    Result := Refuse('/PROXY=' + ProxyParam + ' is not allowed: give none, system, or the ' +
                     'proxy''s address, such as http://proxy.council.local:3128.');
    exit;
  end;
  Problem := '';
  if not CheckNumber('AUTOLOCK', AutoLockParam, AutoLockMin, AutoLockMax, Problem) or
     not CheckNumber('MINPASSWORD', MinPasswordParam, MinPasswordMin, MinPasswordMax, Problem) or
     not CheckNumber('SYNCINTERVAL', SyncIntervalParam, SyncIntervalMin, SyncIntervalMax, Problem) or
     not CheckNumber('BACKUPDAYS', BackupDaysParam, BackupDaysMin, BackupDaysMax, Problem) or
     not CheckNumber('BACKUPWEEKS', BackupWeeksParam, BackupWeeksMin, BackupWeeksMax, Problem) or
     not CheckNumber('BACKUPMAXMB', BackupMaxMbParam, BackupMaxMbMin, BackupMaxMbMax, Problem) then
    Result := Refuse(Problem);
end;

procedure WriteSiteConfig();
var
  Text, Target: String;
begin
  ForceDirectories(SiteFolder());
  Text := '# Fieldcase site configuration, written by the installer from its command line.' + #13#10 +
          '# See docs/it-deployment.md. Check it on a laptop with `fieldcase doctor`.' + #13#10;
  if ServerParam <> '' then
    Text := Text + 'server_url = ' + TomlString(ServerParam) + #13#10;
  if CaBundleParam <> '' then
  begin
    // Copied beside site.toml: the path given may be a share or a temporary folder.
    Target := SiteFolder() + '\' + CaFileName;
    if not FileCopy(CaBundleParam, Target, False) then
      RaiseException('Could not copy the CA bundle to ' + Target + '.');
    Text := Text + 'ca_bundle = ' + TomlString(CaFileName) + #13#10;
  end;
  if AutoLockParam <> '' then
    Text := Text + 'max_auto_lock_minutes = ' + AutoLockParam + #13#10;
  if MinPasswordParam <> '' then
    Text := Text + 'min_password_length = ' + MinPasswordParam + #13#10;
  if SyncIntervalParam <> '' then
    Text := Text + 'sync_interval_minutes = ' + SyncIntervalParam + #13#10;
  if BackupDaysParam <> '' then
    Text := Text + 'backup_daily_days = ' + BackupDaysParam + #13#10;
  if BackupWeeksParam <> '' then
    Text := Text + 'backup_weekly_weeks = ' + BackupWeeksParam + #13#10;
  if BackupMaxMbParam <> '' then
    Text := Text + 'backup_max_mb = ' + BackupMaxMbParam + #13#10;
  if CouncilParam <> '' then
    Text := Text + 'council_name = ' + TomlString(CouncilParam) + #13#10;
  if ProxyParam <> '' then
    Text := Text + 'proxy = ' + TomlString(ProxyParam) + #13#10;
  // ASCII only (checked above), so the file is valid UTF-8 without a byte-order mark.
  if not SaveStringToFile(SiteFolder() + '\site.toml', Text, False) then
    RaiseException('Could not write ' + SiteFolder() + '\site.toml.');
  Log('Wrote the site configuration ' + SiteFolder() + '\site.toml');
end;

procedure RunIcacls(const Params: String);
var
  ResultCode: Integer;
begin
  Log('icacls ' + Params);
  if not Exec(ExpandConstant('{sys}\icacls.exe'), Params, '', SW_HIDE, ewWaitUntilTerminated,
              ResultCode) then
    RaiseException('Could not run icacls to protect ' + SiteFolder() + '.');
  if ResultCode <> 0 then
    RaiseException('Could not set the permissions of ' + SiteFolder() + ' (icacls ended with ' +
                   IntToStr(ResultCode) + ').');
end;

// The site folder gets a protected DACL: SYSTEM and Administrators full control, Users read and
// execute only, passed on to every file in it. Nothing is inherited from ProgramData, where
// Users may create files. Accounts are named by SID, so this works in every language of Windows.
// The same permissions as the MSI gives the folder (installer/windows/fieldcase.wxs).
procedure LockSiteFolder();
var
  Folder: String;
begin
  Folder := SiteFolder();
  ForceDirectories(Folder);
  RunIcacls('"' + Folder + '" /reset');
  RunIcacls('"' + Folder + '" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F ' +
            '*S-1-5-32-544:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX');
  Log('Protected ' + Folder + ': SYSTEM and Administrators may change it, Users may only read it.');
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
  begin
    LockSiteFolder();
    if HasSiteParams() then
      WriteSiteConfig();
  end;
end;

function NeedsAddPath(const Folder: String): Boolean;
var
  Current: String;
begin
  if not RegQueryStringValue(HKLM, EnvironmentKey, 'Path', Current) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Folder) + ';', ';' + Uppercase(Current) + ';') = 0;
end;

procedure RemoveFromPath(const Folder: String);
var
  Current: String;
begin
  if not RegQueryStringValue(HKLM, EnvironmentKey, 'Path', Current) then
    exit;
  if StringChangeEx(Current, ';' + Folder, '', True) > 0 then
    RegWriteExpandStringValue(HKLM, EnvironmentKey, 'Path', Current);
end;

// Every local user's profile folder (C:\Users\...), from the registry's profile list.
procedure RemoveEveryUsersData();
var
  Names: TArrayOfString;
  I: Integer;
  ProfilePath, DataPath: String;
begin
  if not RegGetSubkeyNames(HKLM, ProfileListKey, Names) then
    exit;
  for I := 0 to GetArrayLength(Names) - 1 do
    if RegQueryStringValue(HKLM, ProfileListKey + '\' + Names[I], 'ProfileImagePath', ProfilePath) then
    begin
      StringChangeEx(ProfilePath, '%SystemDrive%', GetEnv('SystemDrive'), True);
      StringChangeEx(ProfilePath, '%SystemRoot%', GetEnv('SystemRoot'), True);
      DataPath := ProfilePath + '\AppData\Local\Fieldcase';
      if DirExists(DataPath) then
      begin
        Log('Removing Fieldcase user data in ' + DataPath);
        DelTree(DataPath, True, True, True);
      end;
    end;
  DelTree(SiteFolder(), True, True, True);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
  begin
    RemoveUserData := HasSwitch('REMOVEUSERDATA');
    if not RemoveUserData and not UninstallSilent() then
      RemoveUserData := MsgBox('Also delete the Fieldcase data of every person who used ' +
        'Fieldcase on this computer, and the site settings?' + #13#10#13#10 +
        'Anything not yet sent to the central service would be lost for good. Choose No ' +
        'to keep it (Fieldcase will find it again if it is installed later).',
        mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
  end;
  if CurUninstallStep = usPostUninstall then
  begin
    RemoveFromPath(ExpandConstant('{app}'));
    if RemoveUserData then
      RemoveEveryUsersData()
    else
      Log('Kept every user''s Fieldcase data and the site settings.');
  end;
end;
