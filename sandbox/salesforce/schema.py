"""Describe metadata of the sandbox org: objects, fields, types, lengths, picklists, references.

Field names, types and lengths follow Salesforce's Object Reference for the objects syncd reads
and writes. Custom fields created through the Tooling API are added to these at run time
(:meth:`Schema.add_custom_field`), so a copy of the schema belongs to each sandbox.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

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
}

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


def _s(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "string", length, **kw)


def _ta(name: str, length: int = 32000, **kw: Any) -> Field:
    return Field(name, "textarea", length, **kw)


def _ro(name: str, type_: str, length: int = 0, **kw: Any) -> Field:
    return Field(name, type_, length, createable=False, updateable=False, **kw)


def _pl(name: str, values: tuple[str, ...], *, restricted: bool = False, **kw: Any) -> Field:
    return Field(name, "picklist", 255, picklist=values, restricted=restricted, **kw)


def _ref(name: str, to: tuple[str, ...], rel: str, **kw: Any) -> Field:
    return Field(name, "reference", 18, reference_to=to, relationship_name=rel, **kw)


def _b(name: str, **kw: Any) -> Field:
    return Field(name, "boolean", 0, nillable=False, **kw)


def _t(name: str, type_: str, **kw: Any) -> Field:
    return Field(name, type_, 0, **kw)


def _req(f: Field) -> Field:
    f.nillable = False
    f.required = True
    return f


def _owner() -> Field:
    # OwnerId defaults to the running user, so it is not nillable but not required either.
    return _ref("OwnerId", ("User",), "Owner", nillable=False)


def _system_fields() -> list[Field]:
    return [
        _ro("Id", "id", 18, nillable=False),
        _ro("IsDeleted", "boolean", nillable=False),
        _ro("CreatedDate", "datetime", nillable=False),
        _ro("CreatedById", "reference", 18, reference_to=("User",), relationship_name="CreatedBy"),
        _ro("LastModifiedDate", "datetime", nillable=False),
        _ro(
            "LastModifiedById",
            "reference",
            18,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
        ),
        _ro("SystemModstamp", "datetime", nillable=False),
    ]


WHAT_TARGETS = ("Account", "Opportunity", "Case", "Campaign", "Contract")
WHO_TARGETS = ("Contact", "Lead")
TASK_SUBTYPES = ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")
OCR_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
FORECAST_CATEGORIES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
PHONE_FIELDS = ("Phone", "MobilePhone", "HomePhone", "OtherPhone")


def _activity_common() -> list[Field]:
    return [
        _ref("WhoId", WHO_TARGETS, "Who"),
        _ref("WhatId", WHAT_TARGETS, "What"),
        _owner(),
        _s("Subject", 255),
        _ta("Description", 32000),
        _t("ActivityDate", "date"),
        _ro("AccountId", "reference", 18, reference_to=("Account",), relationship_name="Account"),
        _ro("IsArchived", "boolean", nillable=False),
    ]


def _objects() -> dict[str, list[Field]]:
    return {
        "Account": [
            _req(_s("Name", 255)),
            Field("Website", "url", 255),
            Field("Phone", "phone", 40),
            _pl(
                "Type", ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
            ),
            _pl("Industry", ("Technology", "Healthcare", "Finance", "Retail", "Other")),
            _t("AnnualRevenue", "currency"),
            _t("NumberOfEmployees", "int"),
            _s("BillingCountry", 80),
            _ref("ParentId", ("Account",), "Parent"),
            _owner(),
            _ro("LastActivityDate", "date"),
        ],
        "Contact": [
            _s("FirstName", 40),
            _req(_s("LastName", 80)),
            _ro("Name", "string", 121),
            Field("Email", "email", 80),
            *(Field(p, "phone", 40) for p in PHONE_FIELDS),
            _ref("AccountId", ("Account",), "Account"),
            _s("Title", 128),
            _pl("LeadSource", ("Web", "Phone Inquiry", "Partner Referral", "Other")),
            _owner(),
            _ro("LastActivityDate", "date"),
        ],
        "Lead": [
            _s("FirstName", 40),
            _req(_s("LastName", 80)),
            _ro("Name", "string", 121),
            _req(_s("Company", 255)),
            Field("Email", "email", 80),
            Field("Phone", "phone", 40),
            Field("MobilePhone", "phone", 40),
            _s("Title", 128),
            Field("Website", "url", 255),
            _pl(
                "Status",
                (
                    "Open - Not Contacted",
                    "Working - Contacted",
                    "Closed - Converted",
                    "Closed - Not Converted",
                ),
                nillable=False,
            ),
            _ro("IsConverted", "boolean", nillable=False),
            _ro(
                "ConvertedContactId",
                "reference",
                18,
                reference_to=("Contact",),
                relationship_name="ConvertedContact",
            ),
            _ro(
                "ConvertedAccountId",
                "reference",
                18,
                reference_to=("Account",),
                relationship_name="ConvertedAccount",
            ),
            _pl("LeadSource", ("Web", "Phone Inquiry", "Partner Referral", "Other")),
            _owner(),
            _ro("LastActivityDate", "date"),
        ],
        "Opportunity": [
            _req(_s("Name", 120)),
            _req(Field("StageName", "picklist", 255, restricted=True)),
            _t("Amount", "currency"),
            _req(_t("CloseDate", "date")),
            _t("Probability", "percent"),
            _s("NextStep", 255),
            _ta("Description", 32000),
            _ref("AccountId", ("Account",), "Account"),
            _owner(),
            _ro("IsClosed", "boolean", nillable=False),
            _ro("IsWon", "boolean", nillable=False),
            _pl("ForecastCategoryName", FORECAST_CATEGORIES),
            _ro("LastActivityDate", "date"),
            _pl("Type", ("Existing Business", "New Business")),
            _pl("LeadSource", ("Web", "Phone Inquiry", "Partner Referral", "Other")),
        ],
        "User": [
            _req(_s("Username", 80)),
            _req(Field("Email", "email", 128)),
            _s("FirstName", 40),
            _req(_s("LastName", 80)),
            _ro("Name", "string", 121),
            _s("Alias", 8),
            _s("Title", 80),
            Field("Phone", "phone", 40),
            Field("MobilePhone", "phone", 40),
            _b("IsActive"),
            _ref("ManagerId", ("User",), "Manager"),
            _s("Department", 80),
            _pl("UserType", ("Standard", "PowerPartner", "CsnOnly", "Guest"), nillable=False),
        ],
        "Task": [
            *_activity_common(),
            _pl(
                "Status",
                ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
                nillable=False,
            ),
            _pl("Priority", ("High", "Normal", "Low"), nillable=False),
            _pl("TaskSubtype", TASK_SUBTYPES, restricted=True, updateable=False),
            _ro("IsClosed", "boolean", nillable=False),
            _t("CallDurationInSeconds", "int"),
            _pl("CallType", ("Internal", "Inbound", "Outbound"), restricted=True),
            _s("CallDisposition", 255),
            _s("CallObject", 255),
            _pl("Type", ("Call", "Email", "Meeting", "Other")),
        ],
        "Event": [
            *_activity_common(),
            _t("StartDateTime", "datetime"),
            _t("EndDateTime", "datetime"),
            _t("ActivityDateTime", "datetime"),
            _t("DurationInMinutes", "int"),
            _b("IsAllDayEvent"),
            _s("Location", 255),
            _pl("ShowAs", ("Busy", "OutOfOffice", "Free"), restricted=True),
            _pl("Type", ("Call", "Email", "Meeting", "Other")),
            _b("IsPrivate"),
            _pl("EventSubtype", ("Event",), restricted=True, updateable=False),
        ],
        "EventRelation": [
            _req(_ref("EventId", ("Event",), "Event", updateable=False)),
            _req(
                _ref(
                    "RelationId",
                    ("Contact", "Lead", "User", "Account", "Opportunity"),
                    "Relation",
                    updateable=False,
                )
            ),
            _b("IsInvitee"),
            _b("IsParent"),
            _b("IsWhat"),
            _pl("Status", ("New", "Declined", "Accepted", "Tentative")),
            _t("RespondedDate", "datetime"),
            _s("Response", 255),
        ],
        "EmailMessage": [
            _s("Subject", 3000),
            _ta("TextBody", 131072),
            _ta("HtmlBody", 131072),
            _ta("Headers", 32000),
            _s("FromAddress", 1000),
            _s("FromName", 1000),
            _ta("ToAddress", 4000),
            _ta("CcAddress", 4000),
            _ta("BccAddress", 4000),
            _t("MessageDate", "datetime"),
            _s("MessageIdentifier", 255),
            _s("ThreadIdentifier", 255),
            _b("Incoming"),
            _req(_pl("Status", ("0", "1", "2", "3", "4", "5"), restricted=True)),
            _ref("ActivityId", ("Task",), "Activity"),
            _ref("RelatedToId", WHAT_TARGETS, "RelatedTo"),
        ],
        "EmailMessageRelation": [
            _req(_ref("EmailMessageId", ("EmailMessage",), "EmailMessage", updateable=False)),
            _ref("RelationId", ("Contact", "Lead", "User"), "Relation"),
            _s("RelationAddress", 1000),
            _req(
                _pl(
                    "RelationType",
                    ("FromAddress", "ToAddress", "CcAddress", "BccAddress"),
                    restricted=True,
                )
            ),
            _s("RelationObjectType", 255),
        ],
        "OpportunityContactRole": [
            _req(_ref("OpportunityId", ("Opportunity",), "Opportunity", updateable=False)),
            _req(_ref("ContactId", ("Contact",), "Contact")),
            _pl("Role", OCR_ROLES),
            _b("IsPrimary"),
        ],
        "OpportunityHistory": [
            _ro(
                "OpportunityId",
                "reference",
                18,
                reference_to=("Opportunity",),
                relationship_name="Opportunity",
            ),
            _ro("StageName", "picklist", 255),
            _ro("Amount", "currency"),
            _ro("CloseDate", "date"),
            _ro("Probability", "percent"),
            _ro("ExpectedRevenue", "currency"),
            _ro("ForecastCategory", "picklist", 40),
            _ro("PrevAmount", "currency"),
            _ro("PrevCloseDate", "date"),
        ],
        "OpportunityFieldHistory": [
            _ro(
                "OpportunityId",
                "reference",
                18,
                reference_to=("Opportunity",),
                relationship_name="Opportunity",
            ),
            _ro("Field", "picklist", 255),
            _ro("OldValue", "anyType"),
            _ro("NewValue", "anyType"),
            _ro("DataType", "string", 40),
        ],
        "OpportunityStage": [
            _ro("MasterLabel", "string", 255),
            _ro("ApiName", "string", 255),
            _ro("IsActive", "boolean", nillable=False),
            _ro("IsClosed", "boolean", nillable=False),
            _ro("IsWon", "boolean", nillable=False),
            _ro("SortOrder", "int"),
            _ro("DefaultProbability", "percent"),
            _ro("ForecastCategoryName", "picklist", 40),
            _ro("ForecastCategory", "picklist", 40),
            _ro("Description", "string", 255),
        ],
    }


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
    {"OpportunityHistory", "OpportunityFieldHistory", "OpportunityStage", "CustomField"}
)


def _tooling_objects() -> dict[str, list[Field]]:
    return {
        "CustomField": [
            _s("DeveloperName", 40),
            _s("TableEnumOrId", 255),
            _s("NamespacePrefix", 15),
            _s("FullName", 255),
            _s("Description", 1000),
            _s("InlineHelpText", 510),
        ]
    }


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

    def add(self, f: Field) -> None:
        """Add (or replace) a field and its look-up entries."""
        self.fields[f.name] = f
        self.indexed = [x for x in self.fields.values() if x.external_id or x.unique]
        self.required = [x.name for x in self.fields.values() if x.required]
        self.by_lower[f.name.lower()] = f
        if f.relationship_name:
            self.relationships[f.relationship_name.lower()] = f

    def field(self, name: str) -> Field | None:
        """Return the field named ``name`` (any case), or None."""
        return self.by_lower.get(name.lower())

    @property
    def read_only(self) -> bool:
        """Whether the API may not write records of this object."""
        return self.name in READ_ONLY_OBJECTS

    def describe(self, base_url: str) -> dict[str, Any]:
        """Return the object's describe result."""
        return {
            **self.summary(base_url),
            "fields": [f.describe() for f in self.fields.values()],
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

    def add_custom_field(self, object_name: str, f: Field) -> list[str]:
        """Add a custom field (``Activity`` means Task and Event); return the objects changed."""
        targets = ["Task", "Event"] if object_name.lower() == "activity" else [object_name]
        for target in targets:
            obj = self.get(target)
            if obj is not None:
                obj.add(copy.deepcopy(f))
        return targets


def org_schema() -> Schema:
    """Return a fresh schema of the standard objects."""
    return Schema(_objects())


def tooling_schema() -> Schema:
    """Return a fresh schema of the Tooling API objects the sandbox supports."""
    return Schema(_tooling_objects())
