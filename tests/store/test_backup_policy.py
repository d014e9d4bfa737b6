"""Backups are kept by age (issue 12): the newest always, one a day for the last 7 days, one a
week for the 4 weeks before, and no more than the site's size cap; the keys in site.toml."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.site import SITE_CONFIG_ENV, SiteConfigError, load_site_config
from app.store.profile import BackupInfo, BackupPolicy, backups_to_drop

TODAY = date(2026, 12, 2)
ZONE = timezone(timedelta(hours=1))


def made(days_ago: float, size: int = 10 * 1024 * 1024) -> BackupInfo:
    moment = datetime(2026, 12, 2, 20, 0, tzinfo=ZONE) - timedelta(days=days_ago)
    return BackupInfo(path=Path(f"b{days_ago}"), made_at=moment.astimezone(UTC), size=size)


def kept(backups: list[BackupInfo], policy: BackupPolicy) -> list[float]:
    drop = backups_to_drop(backups, TODAY, ZONE, policy)
    return [float(b.path.name[1:]) for b in backups if b not in drop]


def test_many_in_a_day_keep_the_newest_and_the_first_of_the_day() -> None:
    # ten backups in the last two hours (every command that changes data makes one)
    backups = [made(n / 1440) for n in range(0, 120, 12)]  # minutes ago
    assert kept(backups, BackupPolicy()) == [0.0, 108 / 1440]


def test_one_a_day_for_a_week_then_one_a_week_for_four_weeks() -> None:
    # two backups a day for 60 days, newest first
    backups = [made(d + half) for d in range(60) for half in (0.0, 0.25)]
    days = kept(backups, BackupPolicy(daily_days=7, weekly_weeks=4))
    # the newest, then the first of each day (the one made earlier that day)
    assert days[:8] == [0.0, 0.25, 1.25, 2.25, 3.25, 4.25, 5.25, 6.25]
    weekly = days[8:]
    assert len(weekly) == 4  # one in each of the four weeks before
    assert all(7 <= d < 35 for d in weekly)
    assert len({int((d - 7) // 7) for d in weekly}) == 4
    assert kept(backups, BackupPolicy(daily_days=2, weekly_weeks=0)) == [0.0, 0.25, 1.25]


def test_the_size_cap_lets_the_oldest_go_but_never_the_newest() -> None:
    backups = [made(d) for d in range(5)]  # 10 MB each
    assert kept(backups, BackupPolicy(max_mb=35)) == [0.0, 1.0, 2.0]
    assert kept([made(0, size=500 * 1024 * 1024)], BackupPolicy(max_mb=1)) == [0.0]
    # the documents' copies (shared by the backups) count towards the cap
    documents = backups_to_drop(
        backups, TODAY, ZONE, BackupPolicy(max_mb=35), shared_bytes=10 * 1024 * 1024
    )
    assert [float(b.path.name[1:]) for b in backups if b not in documents] == [0.0, 1.0]


def test_the_site_sets_the_policy_within_its_limits(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("backup_daily_days = 14\nbackup_weekly_weeks = 8\nbackup_max_mb = 2048\n")
    env = {SITE_CONFIG_ENV: str(site)}
    config = load_site_config(env, source_tree=True)
    assert (config.backup_daily_days, config.backup_weekly_weeks, config.backup_max_mb) == (
        14,
        8,
        2048,
    )
    assert load_site_config({}, source_tree=True).backup_daily_days == 7  # defaults, no file
    site.write_text("backup_daily_days = 900\n")
    with pytest.raises(SiteConfigError, match="backup_daily_days"):
        load_site_config(env, source_tree=True)
