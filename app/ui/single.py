"""One window per profile (so per person): a second launch brings the first window to the
front and ends, instead of opening the same encrypted profile twice.

The first launch holds a lock file (``QLockFile``: a lock left by a crashed launch is taken
over) and listens on a local socket (a Unix socket only its user can open, or a Windows named
pipe); a later launch that cannot take the lock asks that socket to raise the window. Both
are named after the profile's folder, in the user's own runtime folder (:func:`private_folder`).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import tempfile
from pathlib import Path

from app.ui.qt import QLocalServer, QLocalSocket, QLockFile, QObject, QStandardPaths, Signal

log = logging.getLogger("fieldcase.ui.single")

#: What a second launch sends to the first.
RAISE = b"raise\n"
#: The longest path a Unix socket may have (less one for its ending).
UNIX_PATH_MAX = 107
#: How long a second launch waits for the first to answer (before its window exists).
WAIT_MS = 2000


def instance_name(profile_dir: Path) -> str:
    """A name for ``profile_dir``'s window: the same for every launch of it, different for
    each profile (and so each person)."""
    key = hashlib.sha256(str(Path(profile_dir).expanduser().absolute()).encode()).hexdigest()
    return f"fieldcase-{key[:24]}"


def private_folder() -> Path:
    """The user's own runtime folder (``$XDG_RUNTIME_DIR`` on Linux, made 0700 by the system;
    on Windows the user's local application data), so no other user can take the names
    first and keep this user's window from opening."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.RuntimeLocation)
    return Path(found) if found else Path(tempfile.gettempdir())


class SingleInstance(QObject):
    """Decides whether this launch opens the window (:meth:`claim`) and, if it does, tells it
    when a later launch wants it shown (:attr:`raise_requested`)."""

    raise_requested = Signal()

    def __init__(self, profile_dir: Path, folder: Path | None = None) -> None:
        super().__init__()
        where = folder or private_folder()
        name = instance_name(profile_dir)
        # on Windows a pipe's name; elsewhere the socket's path, in the user's own folder
        # (when the path is short enough for a Unix socket; else Qt's temporary folder)
        socket_path = str(where / f"{name}.socket")
        private = sys.platform != "win32" and len(socket_path.encode()) < UNIX_PATH_MAX
        self.name = socket_path if private else name
        self.lock = QLockFile(str(where / f"{name}.lock"))
        self.lock.setStaleLockTime(0)  # stale only when its process is gone
        self.server: QLocalServer | None = None
        self._clients: list[QLocalSocket] = []  # later launches still talking to us

    def claim(self) -> bool:
        """True: this launch opens the window (and listens for later ones). False: another
        launch has it open, and was asked to bring it to the front."""
        if not self.lock.tryLock(0):
            self._ask_to_raise()
            return False
        QLocalServer.removeServer(self.name)  # a socket left by a launch that crashed
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("cannot listen for later launches: %s", server.errorString())
            return True  # the window still opens; a later launch just will not raise it
        server.newConnection.connect(self._later_launch)
        self.server = server
        return True

    def _ask_to_raise(self) -> None:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if socket.waitForConnected(WAIT_MS):
            socket.write(RAISE)
            socket.flush()
            socket.waitForBytesWritten(WAIT_MS)
            socket.disconnectFromServer()
            log.info("the window is open already: asked it to come to the front")
        else:
            log.warning("the window is open already but did not answer")

    def _later_launch(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()  # the server's child
            self._clients.append(socket)
            socket.readyRead.connect(self._read_all)
        self._read_all()

    def _read_all(self) -> None:
        for socket in list(self._clients):
            if not socket.bytesAvailable():
                continue
            said = bytes(socket.readAll().data())
            socket.disconnectFromServer()
            self._clients.remove(socket)
            if said.startswith(RAISE.strip()):
                log.info("a later launch asked for the window")
                self.raise_requested.emit()

    def release(self) -> None:
        """The window closed: stop listening, let the next launch have the lock."""
        for socket in self._clients:
            socket.abort()
        self._clients.clear()
        if self.server is not None:
            self.server.newConnection.disconnect(self._later_launch)
            self.server.close()
        self.lock.unlock()
