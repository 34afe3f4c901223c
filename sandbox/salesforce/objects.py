"""The standard objects of the sandbox org and of its Tooling API, field by field.

Field names, types, lengths and picklists follow Salesforce's Object Reference for the objects
syncd reads and writes. :func:`org_schema` and :func:`tooling_schema` build a fresh, mutable
:class:`~sandbox.salesforce.schema.Schema` from them for each sandbox.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.permissions import permission_objects
from sandbox.salesforce.schema import Field, Schema
from sandbox.salesforce.schema import read_only as _ro
from sandbox.salesforce.time_zones import TIME_ZONES


def _s(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "string", length, **kw)


def _ta(name: str, length: int = 32000, **kw: Any) -> Field:
    return Field(name, "textarea", length, **kw)


def _pl(name: str, values: tuple[str, ...], *, restricted: bool = False, **kw: Any) -> Field:
    return Field(name, "picklist", 255, picklist=values, restricted=restricted, **kw)


def _ref(name: str, to: tuple[str, ...], rel: str, **kw: Any) -> Field:
    return Field(name, "reference", 18, reference_to=to, relationship_name=rel, **kw)


def _b(name: str, **kw: Any) -> Field:
    return Field(name, "boolean", 0, nillable=False, **kw)


def _junction(name: str) -> Field:
    return Field(name, "junctionidlist", 0, reference_to=("Contact", "Lead", "User"))


def _t(name: str, type_: str, **kw: Any) -> Field:
    return Field(name, type_, 0, **kw)


def _req(f: Field) -> Field:
    f.nillable = False
    f.required = True
    return f


def _owner() -> Field:
    # OwnerId defaults to the running user, so it is not nillable but not required either.
    return _ref("OwnerId", ("User",), "Owner", nillable=False)


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
#: EmailMessage.Status: New, Read, Replied, Sent, Forwarded, Draft (the values are digits).
EMAIL_STATUSES = ("0", "1", "2", "3", "4", "5")
#: EmailMessage's JunctionIdList fields (contacts, leads and users addressed).
JUNCTION_FIELDS = ("ToIds", "CcIds", "BccIds")
PHONE_FIELDS = ("Phone", "MobilePhone", "HomePhone", "OtherPhone")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
INDUSTRIES = ("Technology", "Healthcare", "Finance", "Retail", "Other")


def _combobox(name: str, values: tuple[str, ...]) -> Field:
    # A combobox suggests values but takes any text (never restricted).
    return Field(name, "combobox", 255, picklist=values)


def _pl40(name: str, values: tuple[str, ...], **kw: Any) -> Field:
    # Activity picklists are 40 long in a real org's describe (Status is the exception).
    return Field(name, "picklist", 40, picklist=values, **kw)


def _task_recurrence() -> list[Field]:
    """Task's recurrence and reminder fields, as a real org's describe lists them."""
    return [
        _t("ReminderDateTime", "datetime"),
        _b("IsReminderSet"),
        _ro("RecurrenceActivityId", "reference", 18, reference_to=("Task",),
            relationship_name="RecurrenceActivity"),
        _b("IsRecurrence", updateable=False),
        _t("RecurrenceStartDateOnly", "date"),
        _t("RecurrenceEndDateOnly", "date"),
        _pl40("RecurrenceTimeZoneSidKey", TIME_ZONES, restricted=True),
        _pl40("RecurrenceType", ("RecursDaily", "RecursEveryWeekday", "RecursMonthly",
                                 "RecursMonthlyNth", "RecursWeekly", "RecursYearly",
                                 "RecursYearlyNth"), restricted=True),
        _t("RecurrenceInterval", "int"),
        _t("RecurrenceDayOfWeekMask", "int"),
        _t("RecurrenceDayOfMonth", "int"),
        _pl40("RecurrenceInstance", ("First", "Second", "Third", "Fourth", "Last"),
              restricted=True),
        _pl40("RecurrenceMonthOfYear", ("January", "February", "March", "April", "May", "June",
                                        "July", "August", "September", "October", "November",
                                        "December"), restricted=True),
        _pl40("RecurrenceRegeneratedType", ("RecurrenceRegenerateAfterDueDate",
                                            "RecurrenceRegenerateAfterToday",
                                            "RecurrenceRegenerated"), restricted=True),
    ]  # fmt: skip


def _activity_common() -> list[Field]:
    return [
        _ref("WhoId", WHO_TARGETS, "Who"),
        _ref("WhatId", WHAT_TARGETS, "What"),
        _owner(),
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
            _pl("Industry", INDUSTRIES),
            _t("AnnualRevenue", "currency"),
            _t("NumberOfEmployees", "int"),
            _s("BillingCity", 40),
            _s("BillingCountry", 80),
            _ta("Description", 32000),
            _ref("ParentId", ("Account",), "Parent"),
            _owner(),
            _ro("LastActivityDate", "date"),
        ],
        "Contact": [
            _pl("Salutation", SALUTATIONS),
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
            _pl("Salutation", SALUTATIONS),
            _pl("Industry", INDUSTRIES),
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
            # The user's own day (ActivityDate is a date in it). Salesforce requires it on
            # create; the sandbox fills in the org's zone when a test leaves it out.
            Field(
                "TimeZoneSidKey",
                "picklist",
                40,
                picklist=TIME_ZONES,
                restricted=True,
                nillable=False,
            ),
        ],
        # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
        "Organization": [
            _ro("Name", "string", 80),
            _ro("TimeZoneSidKey", "picklist", 40, picklist=TIME_ZONES, nillable=False),
            _ro("DefaultLocaleSidKey", "picklist", 40),
            _ro("OrganizationType", "picklist", 40),
            _ro("IsSandbox", "boolean", nillable=False),
            _ro("InstanceName", "string", 5),
        ],
        "Task": [
            # As a real org's Task describe has them (type, length, nillable, createable,
            # updateable, active picklist values); tests/recorded compares the two.
            *_activity_common(),
            _combobox("Subject", ("Call", "Email", "Send Letter", "Send Quote", "Other")),
            _pl(
                "Status",
                ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
                nillable=False,
            ),
            Field("Priority", "picklist", 20, picklist=("High", "Normal", "Low"), nillable=False),
            _ro("IsHighPriority", "boolean", nillable=False),
            _pl40("TaskSubtype", TASK_SUBTYPES, restricted=True, updateable=False),
            _ro("IsClosed", "boolean", nillable=False),
            _t("CallDurationInSeconds", "int"),
            _pl40("CallType", ("Internal", "Inbound", "Outbound"), restricted=True),
            _s("CallDisposition", 255),
            _s("CallObject", 255),
            _pl40("Type", ("Call", "Email", "Meeting", "Other")),
            *_task_recurrence(),
            _ro("CompletedDateTime", "datetime"),
        ],
        "Event": [
            *_activity_common(),
            _combobox("Subject", ("Call", "Email", "Meeting", "Send Letter/Quote", "Other")),
            _t("StartDateTime", "datetime"),
            _t("EndDateTime", "datetime"),
            _t("ActivityDateTime", "datetime"),
            _t("DurationInMinutes", "int"),
            _b("IsAllDayEvent"),
            _s("Location", 255),
            _pl40("ShowAs", ("Busy", "OutOfOffice", "Free"), restricted=True),
            _pl40("Type", ("Call", "Email", "Meeting", "Other")),
            _b("IsPrivate"),
            _pl40("EventSubtype", ("Event",), restricted=True, updateable=False),
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
        # Enhanced Email's EmailMessage and EmailMessageRelation, field by field as the Object
        # Reference lists them (types, lengths, create/update); rules in .email_rules.
        # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessage.htm
        "EmailMessage": [
            _s("Subject", 3000),
            _ta("TextBody", 131072),
            _ta("HtmlBody", 131072),
            _ta("Headers", 32000),
            Field("FromAddress", "email", 1000),
            _s("FromName", 1000),
            _ta("ToAddress", 4000),
            _ta("CcAddress", 4000),
            _ta("BccAddress", 4000),
            # JunctionIdList: contacts, leads and users; each id becomes an
            # EmailMessageRelation row. Written, never read back by SOQL.
            *(_junction(name) for name in JUNCTION_FIELDS),
            _t("MessageDate", "datetime"),
            _s("MessageIdentifier", 255),
            _s("ThreadIdentifier", 255),
            _b("Incoming", updateable=False),
            _b("IsExternallyVisible"),
            _b("IsClientManaged", updateable=False),
            _ro("HasAttachment", "boolean", nillable=False),
            _ro("IsBounced", "boolean", nillable=False),
            _ro("IsOpened", "boolean", nillable=False),
            _ro("FirstOpenedDate", "datetime"),
            _ro("LastOpenedDate", "datetime"),
            _req(_pl("Status", EMAIL_STATUSES, restricted=True)),
            _ref("ActivityId", ("Task",), "Activity"),
            _ref("ParentId", ("Case",), "Parent"),
            _ref("RelatedToId", WHAT_TARGETS, "RelatedTo"),
            _ref("ReplyToEmailMessageId", ("EmailMessage",), "ReplyToEmailMessage"),
        ],
        # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_emailmessagerelation.htm
        "EmailMessageRelation": [
            _req(_ref("EmailMessageId", ("EmailMessage",), "EmailMessage", updateable=False)),
            _ref("RelationId", ("Contact", "Lead", "User"), "Relation", updateable=False),
            Field("RelationAddress", "email", 1000),
            _req(
                _pl(
                    "RelationType",
                    ("FromAddress", "ToAddress", "CcAddress", "BccAddress", "OtherAddress"),
                    restricted=True,
                )
            ),
            _ro("RelationObjectType", "string", 255),
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


def org_schema() -> Schema:
    """Return a fresh schema of the standard objects."""
    return Schema({**_objects(), **permission_objects()})


def tooling_schema() -> Schema:
    """Return a fresh schema of the Tooling API objects the sandbox supports."""
    return Schema(_tooling_objects())
