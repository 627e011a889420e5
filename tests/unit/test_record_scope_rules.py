"""Reading a published release from its record: dropped lines kept, pins compared."""

from __future__ import annotations

import pytest

from publisher.core import verify_rules as rules
from publisher.core.errors import ConfigError
from publisher.core.publish_plan import config_for_record
from tests.support.matrices import acme_config
from tests.unit.test_publish_plan import record_of


def test_keep_dropped_keeps_a_recorded_line_as_the_record_describes_it():
    today = acme_config()  # 8.3, 8.4
    record = record_of("v1.0.0", "8.4", lines=("8.2", "8.3", "8.4"))
    adjusted, notices = config_for_record(today, record, keep_dropped=True)
    assert adjusted.line_names == ("8.2", "8.3", "8.4")
    kept = adjusted.lines[0]
    facts = record.line("8.2")
    assert kept.platforms == tuple(p.platform for p in facts.platforms)
    assert kept.size_budget_bytes == facts.size_budget_bytes
    assert any("8.2" in n and "read from its record" in n for n in notices)
    # Without it the line is left out (publish), and a republish refuses it.
    left, _ = config_for_record(today, record)
    assert left.line_names == ("8.3", "8.4")
    with pytest.raises(ConfigError):
        config_for_record(today, record, strict=True, keep_dropped=True)


def expectation(recorded: str | None) -> rules.LineExpectation:
    return rules.LineExpectation(
        php="8.3",
        platforms=(),
        budget_bytes=1,
        tags={"hub": ("v1.0.0-php-8.3", "php-8.3")},
        recorded=recorded,
        pins=("v1.0.0-php-8.3",),
    )


def test_a_pin_pointing_elsewhere_than_the_record_is_a_defect():
    tags = [
        rules.TagFacts("hub", "v1.0.0-php-8.3", "sha256:other"),
        rules.TagFacts("hub", "php-8.3", "sha256:other"),
    ]
    images = {("hub", "sha256:other"): rules.ImageFacts("hub", "sha256:other")}
    report = rules.build_report("v1.0.0", [expectation("sha256:recorded")], tags, images)
    assert [d.kind for d in report.defects] == ["pin-moved"]
    assert report.wrong_pins and report.recorded
    # Without a record there is nothing to compare with.
    report = rules.build_report("v1.0.0", [expectation(None)], tags, images)
    assert report.ok and not report.recorded
