"""Field-level security: setup creates the field AND the grant; doctor tells the two apart.

Against the sandbox org, which hides a Tooling-created field from every user until a permission
set grants it, as a real org does.
"""

from __future__ import annotations

from typing import Any

from sf_helpers import make_client, start_sandbox

from syncd.salesforce.doctor import run_doctor
from syncd.salesforce.grants import PERMISSION_SET
from syncd.salesforce.setup import ensure_key_field, run_setup


def _key_checks(sb: Any) -> dict[str, Any]:
    checks = {c.name: c for c in run_doctor(lambda: make_client(sb))}
    return {k: v for k, v in checks.items() if "key field" in k}


def _outcomes(steps: list[Any]) -> dict[str, str]:
    return {s.what: s.outcome for s in steps}


def test_doctor_tells_missing_from_hidden_and_setup_ends_the_loop() -> None:
    sb = start_sandbox()
    try:
        missing = _key_checks(sb)["salesforce: key field on Task"]
        assert not missing.ok and "does not exist" in missing.detail
        assert "syncd setup salesforce" in missing.fix

        # The field alone (what setup used to do) is invisible to the API user.
        assert ensure_key_field(make_client(sb)) == "created"
        for name, check in _key_checks(sb).items():
            assert not check.ok
            if name.endswith("EmailMessage"):  # the Activity field alone: EmailMessage's is apart
                assert "does not exist" in check.detail
                continue
            assert "field-level security" in check.detail
            assert PERMISSION_SET in check.fix and "Read and Edit" in check.fix

        steps = _outcomes(run_setup(make_client(sb)))
        assert steps == {
            "field Activity.Syncd_Key__c (Text 255, External ID, Unique) on Task and Event": (
                "exists"
            ),
            "field EmailMessage.Syncd_Key__c (Text 255, External ID, Unique)": "created",
            f"permission set {PERMISSION_SET}": "created",
            "read+edit on Task.Syncd_Key__c": "created",
            "read+edit on Event.Syncd_Key__c": "created",
            "read+edit on EmailMessage.Syncd_Key__c": "created",
            f"{PERMISSION_SET} assigned to the API user {sb.auth.run_as_user_id}": "created",
        }
        after = run_doctor(lambda: make_client(sb))
        assert all(c.ok for c in after), [c for c in after if not c.ok]
        assert set(_outcomes(run_setup(make_client(sb))).values()) == {"exists"}
    finally:
        sb.stop()


def test_setup_repairs_a_removed_assignment_and_a_read_only_grant(sandbox: Any) -> None:
    (assignment,) = [r for r in sandbox.records("PermissionSetAssignment") if not r["IsDeleted"]]
    sandbox.delete("PermissionSetAssignment", assignment["Id"])
    task_grant = next(
        r for r in sandbox.records("FieldPermissions") if r["Field"] == "Task.Syncd_Key__c"
    )
    sandbox.update("FieldPermissions", task_grant["Id"], {"PermissionsEdit": False})

    steps = _outcomes(run_setup(make_client(sandbox)))
    assert steps["read+edit on Task.Syncd_Key__c"] == "repaired"
    assert steps["read+edit on Event.Syncd_Key__c"] == "exists"
    assigned = [v for k, v in steps.items() if "assigned to the API user" in k]
    assert assigned == ["created"]
    assert all(c.ok for c in run_doctor(lambda: make_client(sandbox)))


def test_a_read_only_grant_is_named_by_doctor(sandbox: Any) -> None:
    grant = next(
        r for r in sandbox.records("FieldPermissions") if r["Field"] == "Event.Syncd_Key__c"
    )
    sandbox.update("FieldPermissions", grant["Id"], {"PermissionsEdit": False})
    try:
        check = _key_checks(sandbox)["salesforce: key field on Event"]
        assert not check.ok and "read-only" in check.detail and PERMISSION_SET in check.fix
    finally:
        run_setup(make_client(sandbox))


def test_setup_gives_emailmessage_its_key_field_only_where_the_org_has_it() -> None:
    sb = start_sandbox()
    try:
        sb.disable_enhanced_email()
        steps = _outcomes(run_setup(make_client(sb)))
        assert not any("EmailMessage" in what for what in steps)
    finally:
        sb.stop()
    sb = start_sandbox()
    try:
        steps = _outcomes(run_setup(make_client(sb)))
        assert steps["field EmailMessage.Syncd_Key__c (Text 255, External ID, Unique)"] == "created"
        assert steps["read+edit on EmailMessage.Syncd_Key__c"] == "created"
        described = make_client(sb).describe("EmailMessage")["fields"]
        key = {f["name"]: f for f in described}["Syncd_Key__c"]
        assert key["externalId"] and key["unique"] and key["createable"]
    finally:
        sb.stop()


def test_setup_refused_by_the_org_says_how_to_do_it_by_hand(
    tmp_path: Any, monkeypatch: Any, capsys: Any
) -> None:
    from syncd.cli import main

    sb = start_sandbox()
    try:
        monkeypatch.setenv("SYNCD_TEST_SETUP_SECRET", sb.client_secret)
        config = tmp_path / "syncd.toml"
        config.write_text(
            f"""
[state]
url = "sqlite:///{tmp_path / "state.db"}"

[salesforce]
login_url = "{sb.url}"
auth = "client_credentials"
client_id = "{sb.client_id}"
client_secret_env = "SYNCD_TEST_SETUP_SECRET"
ca_bundle = "{sb.ca_bundle}"
"""
        )
        sb.faults.inject("refuse", path="sobjects/PermissionSet", method="POST")
        assert main(["setup", "salesforce", "-c", str(config)]) == 1
        err = capsys.readouterr().err
        assert "INSUFFICIENT_ACCESS_OR_READONLY" in err
        assert "Doing it by hand" in err and "Manage Profiles and Permission Sets" in err
    finally:
        sb.stop()
