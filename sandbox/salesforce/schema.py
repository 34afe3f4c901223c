"""Describe metadata: fields, objects and the schema of one org, looked up case-insensitively.

The standard objects themselves are listed in :mod:`sandbox.salesforce.objects`. Custom fields
created through the Tooling API are added at run time (:meth:`Schema.add_custom_field`), so each
sandbox owns its own copy of the schema.
"""

from __future__ import annotations

import copy
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Key prefixes of the record ids of each object (the first three characters of an id).
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "OpportunityContactRole": "00K",
    "OpportunityHistory": "008",
    "OpportunityFieldHistory": "017",
    "OpportunityStage": "01J",
    "EventRelation": "0RE",
    "EmailMessage": "02s",
    "EmailMessageRelation": "0Rs",
    "CustomField": "00N",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "Organization": "00D",
}


class Viewer(Protocol):
    """Field-level security of the user an API request runs as (:mod:`.permissions`)."""

    def see(self, obj: SObjectType, f: Field) -> Field | None:
        """The protected field as this user sees it, or None when it is not accessible."""


#: The user the current request runs as; None is the system context (seeding, side effects).
VIEWER: ContextVar[Viewer | None] = ContextVar("sandbox_salesforce_viewer", default=None)

#: Task statuses that count as closed (IsClosed), as in a default org.
CLOSED_TASK_STATUSES = frozenset({"Completed"})


@dataclass
class Field:
    """One field as describe reports it, plus the flags the validator needs."""

    name: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    required: bool = False  # must be given on create (not nillable, no default)
    custom: bool = False
    label: str = ""
    #: Under field-level security: invisible to a user no permission set grants it to.
    protected: bool = False

    def describe(self) -> dict[str, Any]:
        """Return the field as the describe call shows it."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "custom": self.custom,
            "calculated": False,
            "filterable": self.type not in ("textarea",),
            "defaultedOnCreate": not self.nillable and not self.required,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                for v in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def read_only(name: str, type_: str, length: int = 0, **kw: Any) -> Field:
    """Return a field Salesforce maintains itself (neither createable nor updateable)."""
    return Field(name, type_, length, createable=False, updateable=False, **kw)


def _system_fields() -> list[Field]:
    return [
        read_only("Id", "id", 18, nillable=False),
        read_only("IsDeleted", "boolean", nillable=False),
        read_only("CreatedDate", "datetime", nillable=False),
        read_only(
            "CreatedById",
            "reference",
            18,
            nillable=False,
            reference_to=("User",),
            relationship_name="CreatedBy",
        ),
        read_only("LastModifiedDate", "datetime", nillable=False),
        read_only(
            "LastModifiedById",
            "reference",
            18,
            nillable=False,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        read_only("SystemModstamp", "datetime", nillable=False),
    ]


#: Parent object → lower-cased child relationship name → (name, child object, child's field).
CHILD_RELATIONSHIPS: dict[str, dict[str, tuple[str, str, str]]] = {
    parent: {name.lower(): (name, child, fld) for name, child, fld in links}
    for parent, links in {
        "Account": [
            ("Contacts", "Contact", "AccountId"),
            ("Opportunities", "Opportunity", "AccountId"),
            ("Tasks", "Task", "AccountId"),
            ("Events", "Event", "AccountId"),
        ],
        "Contact": [
            ("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
            ("Tasks", "Task", "WhoId"),
            ("Events", "Event", "WhoId"),
        ],
        "Lead": [("Tasks", "Task", "WhoId"), ("Events", "Event", "WhoId")],
        "Opportunity": [
            ("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
            ("OpportunityHistories", "OpportunityHistory", "OpportunityId"),
            ("Histories", "OpportunityFieldHistory", "OpportunityId"),
            ("Tasks", "Task", "WhatId"),
            ("Events", "Event", "WhatId"),
        ],
        "Event": [("EventRelations", "EventRelation", "EventId")],
        "EmailMessage": [("EmailMessageRelations", "EmailMessageRelation", "EmailMessageId")],
        "User": [("ManagedUsers", "User", "ManagerId")],
    }.items()
}

#: Objects the API may not create or change: Salesforce maintains them itself.
READ_ONLY_OBJECTS = frozenset(
    {
        "OpportunityHistory",
        "OpportunityFieldHistory",
        "OpportunityStage",
        "CustomField",
        "Organization",
    }
)


@dataclass
class SObjectType:
    """One object's describe: its name, key prefix and fields by name."""

    name: str
    key_prefix: str
    fields: dict[str, Field] = field(default_factory=dict)
    # Lower-cased field name → Field, because SOQL and JSON field names are case-insensitive.
    by_lower: dict[str, Field] = field(default_factory=dict)
    # Lower-cased relationship name → reference field.
    relationships: dict[str, Field] = field(default_factory=dict)
    # Derived on every add(): the fields with a value index, and the required field names.
    indexed: list[Field] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    booleans: list[str] = field(default_factory=list)

    def add(self, f: Field) -> None:
        """Add (or replace) a field and its look-up entries."""
        self.fields[f.name] = f
        self.indexed = [x for x in self.fields.values() if x.external_id or x.unique]
        self.required = [x.name for x in self.fields.values() if x.required]
        self.booleans = [x.name for x in self.fields.values() if x.type == "boolean"]
        self.by_lower[f.name.lower()] = f
        if f.relationship_name:
            self.relationships[f.relationship_name.lower()] = f

    def remove(self, name: str) -> Field | None:
        """Take a field out of the object (an org feature turned off); return it."""
        f = self.fields.pop(name, None)
        if f is not None:
            self.by_lower.pop(name.lower(), None)
            self.add(next(iter(self.fields.values())))  # re-derive the lists
        return f

    def field(self, name: str) -> Field | None:
        """Return the field named ``name`` (any case) as the current user sees it, or None."""
        f = self.by_lower.get(name.lower())
        if f is None or not f.protected:
            return f
        viewer = VIEWER.get()
        return f if viewer is None else viewer.see(self, f)

    def visible_fields(self) -> list[Field]:
        """The fields the current user can see (all of them in the system context)."""
        return [v for f in self.fields.values() if (v := self.field(f.name)) is not None]

    @property
    def read_only(self) -> bool:
        """Whether the API may not write records of this object."""
        return self.name in READ_ONLY_OBJECTS

    def describe(self, base_url: str) -> dict[str, Any]:
        """Return the object's describe result."""
        return {
            **self.summary(base_url),
            "fields": [f.describe() for f in self.visible_fields()],
            "childRelationships": [
                {
                    "relationshipName": name,
                    "childSObject": child,
                    "field": fld,
                    "cascadeDelete": False,
                }
                for name, child, fld in CHILD_RELATIONSHIPS.get(self.name, {}).values()
            ],
            "recordTypeInfos": [],
        }

    def summary(self, base_url: str) -> dict[str, Any]:
        """Return the object's entry in the global describe."""
        writable = not self.read_only
        return {
            "name": self.name,
            "label": self.name,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": writable,
            "updateable": writable,
            "deletable": writable,
            "queryable": True,
            "urls": {
                "sobject": f"{base_url}/sobjects/{self.name}",
                "describe": f"{base_url}/sobjects/{self.name}/describe",
                "rowTemplate": f"{base_url}/sobjects/{self.name}/{{ID}}",
            },
        }


class Schema:
    """The objects of one org (or of its Tooling API), looked up case-insensitively."""

    def __init__(self, objects: dict[str, list[Field]]) -> None:
        self.objects: dict[str, SObjectType] = {}
        self._lower: dict[str, SObjectType] = {}
        self.by_prefix: dict[str, SObjectType] = {}
        for name, fields in objects.items():
            obj = SObjectType(name, KEY_PREFIXES[name])
            for f in [*_system_fields(), *copy.deepcopy(fields)]:
                obj.add(f)
            self.objects[name] = obj
            self._lower[name.lower()] = obj
            self.by_prefix[obj.key_prefix] = obj

    def get(self, name: str) -> SObjectType | None:
        """Return the object named ``name`` (any case), or None."""
        return self._lower.get(name.lower())

    def remove_object(self, name: str) -> None:
        """Take an object out of the org (a feature turned off): describe, REST, SOQL lose it."""
        obj = self._lower.pop(name.lower(), None)
        if obj is not None:
            self.objects.pop(obj.name, None)
            self.by_prefix.pop(obj.key_prefix, None)

    def add_custom_field(self, object_name: str, f: Field) -> list[str]:
        """Add a custom field (``Activity`` means Task and Event); return the objects changed."""
        targets = ["Task", "Event"] if object_name.lower() == "activity" else [object_name]
        for target in targets:
            obj = self.get(target)
            if obj is not None:
                obj.add(copy.deepcopy(f))
        return targets
