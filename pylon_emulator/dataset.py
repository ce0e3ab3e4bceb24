"""Deterministic synthetic Pylon data, shaped like the API's objects (October 2026 SDK types).

`generate(seed, ...)` returns the same data for the same arguments (pass `now` to pin the clock).
On purpose it holds the records that break naive incremental syncs: issues updated at exactly
midnight UTC (the edge of every daily partition), groups of issues sharing the very same
`updated_at` (ties that a cursor on `updated_at` alone would split, one group sitting on a midnight),
plus nulls, non-ASCII text (accents, CJK, emoji) and HTML bodies.

Tasks are drawn from a generator of their own (seeded from `seed` too): the other streams of a seed
do not depend on them, nor on how many are asked for.
"""

from __future__ import annotations

import copy
import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pylon_dagster.pylon.timestamps import format_timestamp

Record = dict[str, Any]

ISSUE_STATES = ("new", "waiting_on_you", "waiting_on_customer", "on_hold", "closed")
CUSTOM_FIELD_OBJECT_TYPES = ("account", "issue", "contact")
ISSUE_SOURCES = ("email", "slack", "chat_widget", "customer_portal", "form", "microsoft_teams")
ISSUE_LINK = "https://app.usepylon.com/issues?issueNumber={number}"
TASK_STATUSES = ("not_started", "in_progress", "completed")
_INHERITED_BY_SUBTASKS = ("account", "project", "milestone")

_PEOPLE = (
    "Zoë Müller", "José Álvarez", "Søren Kierkegård", "李雷", "山田 太郎", "Anaïs Lefèvre",
    "Björn Åkesson", "Ngozi Okonkwo", "Priya Natarajan", "Łukasz Wróbel", "Ahmed Khalil",
    "Olga Ivanova", "María Fernández", "Kenji Satō", "Chloé Dubois", "Dmitri O'Connor",
)  # fmt: skip
_COMPANIES = (
    "Acme Rockets", "Globex", "Müller & Söhne", "株式会社サンプル", "Initech", "Umbrella Labs",
    "Café Olé", "北京示例科技", "Nørdisk Design", "Soylent", "Hooli", "Vandelay Industries",
)  # fmt: skip
_COMPANY_SUFFIXES = ("GmbH", "Inc.", "SAS", "Ltd", "K.K.", "", "AB")
_ISSUE_TITLES = (
    "Cannot log in after password reset",
    "Problème de facturation sur la facture de mars",
    "Zugriff verweigert für neue Benutzer",
    "ログインできません",
    "无法导出报告",
    "🚀 Deploy failed on step 3",
    "Export stuck ⏳ for two hours",
    "Webhook signature mismatch",
    "API returns 502 intermittently",
    "Feature request: dark mode 🌙",
    "SSO with Okta loops back to the login page",
    "Invoice shows wrong VAT (19 % instead of 7 %)",
    "Slack notifications arrive twice",
    "CSV import drops rows with “smart quotes”",
    "Dashboard is slow — 30s+ load time",
    "Question about <script> tags in templates",
)
_SENTENCES = (
    "Since yesterday the dashboard shows an error for everyone on our team.",
    "Nous avons reçu une facture en double, pouvez-vous vérifier ?",
    "Die Synchronisierung schlägt seit dem Update fehl.",
    "エクスポートボタンを押しても何も起きません。",
    "我们的用户无法收到验证邮件。",
    "It worked fine last week 🤔 — nothing changed on our side.",
    "Steps: open <b>Settings</b> &gt; <i>Integrations</i>, click <code>Reconnect</code>.",
    'See <a href="https://status.example.com/incidents/42">the status page</a> for details.',
    "Tried in Chrome & Firefox; same result.",
)
_REPLIES = (
    "Thanks for reaching out! We're looking into it.",
    "Could you share a screenshot and the time it happened (UTC)?",
    "Merci pour votre patience, le correctif est déployé.",
    "We've escalated this to engineering 🛠️.",
    "This should be fixed now — could you confirm?",
    "ご連絡ありがとうございます。確認いたします。",
)
_TASK_TITLES = (
    "Schedule the quarterly business review",
    "Préparer la migration SSO",
    "Onboarding-Checkliste durchgehen",
    "請求書の再発行",
    "跟进续约合同",
    "Send the renewal quote 📄",
    "Audit webhook retries",
    "Collect feedback on dark mode 🌙",
)
_NOTES = (
    "Customer is on the enterprise plan, prioritise.",
    "Looks like the same bug as last week's incident.",
    "Checked the logs: <code>timeout after 30s</code>.",
)
_THREAD_NAMES = ("Escalation to engineering", "Billing check 💳", "Vérification SSO", "调查日志")
_ISSUE_TAGS = (
    "bug",
    "billing",
    "feature-request",
    "urgent",
    "onboarding",
    "API",
    "données",
    "バグ",
)
_ACCOUNT_TAGS = ("enterprise", "churn-risk", "beta", "partner")
_ARTICLE_TAGS = ("how-to", "faq")
_SELECT_FIELDS: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {
    # object type -> (slug, label, type, option slugs)
    "account": [
        ("tier", "Tier", "select", ("smb", "mid_market", "enterprise")),
        ("arr", "ARR", "number", ()),
        ("csm_notes", "CSM notes", "text", ()),
    ],
    "issue": [
        ("plan", "Plan", "select", ("free", "pro", "enterprise")),
        ("priority", "Priority", "select", ("low", "medium", "high", "urgent")),
        ("components", "Components", "multiselect", ("api", "billing", "dashboard", "mobile")),
        ("region", "Région", "text", ()),
    ],
    "contact": [
        ("language", "Language", "select", ("en", "fr", "de", "ja", "zh")),
        ("job_title", "Job title", "text", ()),
    ],
}
_STATUS_LABELS = {
    "new": "New",
    "waiting_on_you": "Waiting on you",
    "waiting_on_customer": "Waiting on customer",
    "on_hold": "On hold",
    "closed": "Closed",
}


@dataclass
class Dataset:
    """Every stream the API serves. Children are keyed by their parent's id.

    Issues and tasks were created and updated between `since` and `now`.
    """

    now: datetime
    since: datetime
    organization: Record
    accounts: list[Record]
    contacts: list[Record]
    users: list[Record]
    teams: list[Record]
    tags: list[Record]
    custom_fields: list[Record]
    issue_statuses: list[Record]
    ticket_forms: list[Record]
    user_roles: list[Record]
    activity_types: list[Record]
    knowledge_bases: list[Record]
    articles: dict[str, list[Record]]
    collections: dict[str, list[Record]]
    issues: list[Record]
    messages: dict[str, list[Record]]
    threads: dict[str, list[Record]]
    tasks: list[Record]


def generate(
    seed: int,
    issues: int = 2000,
    now: datetime | None = None,
    days: int = 90,
    *,
    accounts: int = 40,
    contacts: int = 150,
    users: int = 12,
    knowledge_bases: int = 2,
    articles_per_knowledge_base: int = 30,
    tasks: int = 25,
) -> Dataset:
    """A synthetic organization whose issues were created and updated in the `days` before `now`.

    Its `tasks` live in those days too. `now` defaults to the current UTC time truncated to the
    minute.
    """
    if issues < 0 or days < 1:
        raise ValueError("issues must be >= 0 and days >= 1")
    if min(accounts, contacts, users) < 1:
        raise ValueError("accounts, contacts and users must each be at least 1")
    if tasks < 0:
        raise ValueError("tasks must be >= 0")
    if now is None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime(2026, 3, 14, tzinfo=UTC)")
    builder = _Builder(random.Random(seed), now.astimezone(UTC))
    roles = builder.user_roles()
    user_list = builder.users(users, roles)
    tag_list = builder.tags()
    field_list = builder.custom_fields()
    account_list = builder.accounts(accounts, user_list)
    contact_list = builder.contacts(contacts, account_list)
    team_list = builder.teams(user_list)
    kb_list = builder.knowledge_bases(knowledge_bases)
    collections = {kb["id"]: builder.collections(kb) for kb in kb_list}
    articles = {
        kb["id"]: builder.articles(
            kb, articles_per_knowledge_base, collections[kb["id"]], user_list
        )
        for kb in kb_list
    }
    people = _People(account_list, contact_list, user_list, team_list)
    issue_list, messages, threads = builder.issues(issues, days, people)
    task_builder = _Builder(random.Random(f"{seed}/tasks"), builder.now)
    return Dataset(
        now=builder.now,
        since=builder.now - timedelta(days=days),
        organization=builder.organization(),
        accounts=account_list,
        contacts=contact_list,
        users=user_list,
        teams=team_list,
        tags=tag_list,
        custom_fields=field_list,
        issue_statuses=builder.issue_statuses(),
        ticket_forms=builder.ticket_forms(),
        user_roles=roles,
        activity_types=builder.activity_types(),
        knowledge_bases=kb_list,
        articles=articles,
        collections=collections,
        issues=issue_list,
        messages=messages,
        threads=threads,
        tasks=task_builder.tasks(tasks, days, people),
    )


def issue_template(issue_id: str, number: int, created_at: str) -> Record:
    """An issue with every documented field present and empty, as a freshly created one looks."""
    return {
        "id": issue_id,
        "number": number,
        "title": "",
        "body_html": "",
        "state": "new",
        "type": "conversation",
        "source": "manual",
        "link": ISSUE_LINK.format(number=number),
        "created_at": created_at,
        "updated_at": created_at,
        "latest_message_time": None,
        "first_response_time": None,
        "first_response_seconds": None,
        "business_hours_first_response_seconds": None,
        "resolution_time": None,
        "resolution_seconds": None,
        "business_hours_resolution_seconds": None,
        "first_resolution_time": None,
        "first_response_breach_time": None,
        "resolution_breach_time": None,
        "snoozed_until_time": None,
        "number_of_touches": 0,
        "customer_portal_visible": False,
        "author_unverified": False,
        "account": None,
        "requester": None,
        "assignee": None,
        "team": None,
        "tags": [],
        "custom_fields": {},
        "external_issues": [],
        "attachment_urls": [],
        "slack": None,
        "chat_widget_info": None,
        "csat_responses": [],
        "time_in_status_seconds": {},
        "business_hours_time_in_status_seconds": {},
        "child_issues": None,
        "is_issue_group": False,
        "parent_issue_group": None,
        "workspace_email": None,
    }


def message_template(
    message_id: str, timestamp: str, message_html: str, author: Record, source: str
) -> Record:
    """A customer-visible message. Like Pylon's, it carries no issue_id and no updated_at."""
    return {
        "id": message_id,
        "message_html": message_html,
        "timestamp": timestamp,
        "is_private": False,
        "source": source,
        "thread_id": None,
        "author": author,
        "email_info": None,
        "file_urls": [],
        "author_unverified": False,
    }


def mini_account(account: Record) -> Record:
    return {"id": account["id"], "external_ids": account["external_ids"]}


def mini_person(person: Record) -> Record:
    """`{id, email}`: how issues and teams refer to a contact or a user."""
    return {"id": person["id"], "email": person["email"]}


class _People:
    """Who issues and tasks can refer to, with the lookups their builders need."""

    def __init__(
        self,
        accounts: list[Record],
        contacts: list[Record],
        users: list[Record],
        teams: list[Record],
    ):
        self.accounts = accounts
        self.accounts_by_id = {a["id"]: a for a in accounts}
        self.contacts = contacts
        self.contacts_by_id = {c["id"]: c for c in contacts}
        self.users = users
        self.teams = teams

    def account_of(self, contact: Record) -> Record | None:
        return self.accounts_by_id[contact["account"]["id"]] if contact["account"] else None


@dataclass
class _Timeline:
    created_at: datetime
    updated_at: datetime
    message_times: list[datetime]


class _Builder:
    """One stream per method; every random choice comes from the one seeded `rng`, in a fixed order."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        self.now = now

    # -- small helpers ---------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def timestamp_before(self, latest: datetime, max_days: float) -> str:
        return _ts(latest - timedelta(seconds=self.rng.randint(0, int(max_days * 86400))))

    def hex_color(self) -> str | None:
        return None if self.chance(0.2) else f"#{self.rng.getrandbits(24):06x}"

    def custom_values(self, object_type: str) -> Record:
        values: Record = {}
        for slug, _, field_type, options in _SELECT_FIELDS[object_type]:
            if self.chance(0.3):
                continue
            if field_type == "multiselect":
                picked = self.rng.sample(options, self.rng.randint(1, 2))
                values[slug] = {"slug": slug, "values": picked}
            elif field_type == "select":
                values[slug] = {"slug": slug, "value": self.rng.choice(options)}
            elif field_type == "number":
                values[slug] = {"slug": slug, "value": str(self.rng.randint(1, 500) * 1000)}
            else:
                values[slug] = {"slug": slug, "value": self.rng.choice(_SENTENCES)}
        return values

    def moment_between(self, start: datetime, end: datetime) -> datetime:
        """A moment in `[start, end]`, whole seconds after `start`."""
        return start + timedelta(seconds=self.rng.randint(0, int((end - start).total_seconds())))

    def html(self, *sentences: str) -> str:
        return "".join(f"<p>{sentence}</p>" for sentence in sentences)

    # -- reference streams -----------------------------------------------------------------------

    def organization(self) -> Record:
        return {
            "id": self.uuid(),
            "name": "Emulated Support Org",
            "user": {"id": self.uuid(), "email": ""},
        }

    def user_roles(self) -> list[Record]:
        names = ("Admin", "Member", "Viewer", "Support Lead")
        return [{"id": self.uuid(), "name": n, "slug": _slug(n, "_")} for n in names]

    def users(self, count: int, roles: list[Record]) -> list[Record]:
        users = []
        for index in range(count):
            name = _PEOPLE[index % len(_PEOPLE)]
            email = f"{_slug(name, '.') or 'agent'}.{index}@support.example.com"
            role = self.rng.choice(roles)
            users.append(
                {
                    "id": self.uuid(),
                    "name": name,
                    "email": email,
                    "emails": [email],
                    "avatar_url": f"https://avatars.example.com/{index}.png",
                    "role_id": role["id"],
                    "role_ids": [role["id"]],
                    "roles": [role],
                    "status": self.rng.choice(("", "active", "active", "away", "out_of_office")),
                    "is_deactivated": index == count - 1 and count > 2,
                }
            )
        return users

    def tags(self) -> list[Record]:
        groups = (("issue", _ISSUE_TAGS), ("account", _ACCOUNT_TAGS), ("article", _ARTICLE_TAGS))
        return [
            {"id": self.uuid(), "value": value, "hex_color": self.hex_color(), "object_type": kind}
            for kind, values in groups
            for value in values
        ]

    def custom_fields(self) -> list[Record]:
        fields = []
        for object_type in CUSTOM_FIELD_OBJECT_TYPES:
            for slug, label, field_type, options in _SELECT_FIELDS[object_type]:
                created = self.timestamp_before(self.now - timedelta(days=400), 300)
                fields.append(
                    {
                        "id": self.uuid(),
                        "slug": slug,
                        "label": label,
                        "description": f"{label} ({object_type})",
                        "type": field_type,
                        "object_type": object_type,
                        "source": "salesforce" if slug == "csm_notes" else "pylon",
                        "is_read_only": slug == "csm_notes",
                        "default_value": None,
                        "default_values": None,
                        "select_metadata": {
                            "options": [
                                {"slug": o, "label": o.replace("_", " ").title()} for o in options
                            ]
                        }
                        if options
                        else None,
                        "number_metadata": {
                            "format": "currency",
                            "currency": "USD",
                            "decimal_places": 0,
                        }
                        if field_type == "number"
                        else None,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
        return fields

    def accounts(self, count: int, users: list[Record]) -> list[Record]:
        accounts = []
        for index in range(count):
            name = f"{self.rng.choice(_COMPANIES)} {self.rng.choice(_COMPANY_SUFFIXES)}".strip()
            domain = f"{_slug(name, '-') or 'account'}-{index}.example"
            created = self.timestamp_before(self.now - timedelta(days=100), 900)
            has_external_ids = self.chance(0.6)
            accounts.append(
                {
                    "id": self.uuid(),
                    "name": name,
                    "type": self.rng.choice(
                        ("customer", "customer", "customer", "partner", "internal")
                    ),
                    "domain": domain,
                    "domains": [domain, f"mail.{domain}"] if self.chance(0.3) else [domain],
                    "primary_domain": domain,
                    "created_at": created,
                    "updated_at": self.timestamp_before(self.now, 90),
                    "latest_customer_activity_time": self.timestamp_before(self.now, 30),
                    "is_disabled": self.chance(0.05),
                    "logo_url": f"https://logos.example.com/{domain}.png",
                    "owner": mini_person(self.rng.choice(users)) if self.chance(0.7) else None,
                    "channels": [
                        {
                            "channel_id": f"C{self.rng.getrandbits(40):010X}",
                            "source": "slack",
                            "is_primary": True,
                            "is_internal": False,
                            "mirror_to": None,
                        }
                    ]
                    if self.chance(0.5)
                    else [],
                    "crm_settings": {
                        "details": [{"id": f"001{index:012d}", "source": "salesforce"}]
                    }
                    if has_external_ids
                    else None,
                    "custom_fields": self.custom_values("account"),
                    "external_ids": [{"external_id": f"SF-{index:05d}", "label": "salesforce"}]
                    if has_external_ids
                    else None,
                    "tags": self.rng.sample(_ACCOUNT_TAGS, self.rng.randint(0, 2))
                    if self.chance(0.7)
                    else None,
                    "parent_account_id": None,
                    "subaccount_ids": [],
                }
            )
        return accounts

    def contacts(self, count: int, accounts: list[Record]) -> list[Record]:
        contacts = []
        for index in range(count):
            name = self.rng.choice(_PEOPLE)
            account = self.rng.choice(accounts) if self.chance(0.9) else None
            domain = account["domain"] if account else "gmail.example"
            email = (
                f"{_slug(name, '.') or 'contact'}.{index}@{domain}" if self.chance(0.95) else None
            )
            phone = f"+1 555 01{index:04d}" if self.chance(0.4) else None
            contacts.append(
                {
                    "id": self.uuid(),
                    "name": name,
                    "email": email,
                    "emails": [email] if email else [],
                    "phone_numbers": [phone] if phone else [],
                    "primary_phone_number": phone,
                    "avatar_url": "",
                    "portal_role": self.rng.choice(("no_access", "member", "member", "admin")),
                    "portal_role_id": None,
                    "account": mini_account(account) if account else None,
                    "custom_fields": self.custom_values("contact"),
                    "external_ids": [],
                    "integration_user_ids": [{"id": f"U{index:08d}", "source": "slack"}]
                    if self.chance(0.3)
                    else [],
                }
            )
        return contacts

    def teams(self, users: list[Record]) -> list[Record]:
        names = ("Support Tier 1", "Support Tier 2", "Billing & Payments", "Équipe Europe")
        return [
            {
                "id": self.uuid(),
                "name": name,
                "users": [
                    mini_person(u) for u in self.rng.sample(users, self.rng.randint(0, len(users)))
                ],
            }
            for name in names
        ]

    def issue_statuses(self) -> list[Record]:
        statuses = [
            {
                "slug": s,
                "label": label,
                "category": s,
                "is_default_status": True,
                "is_archived": False,
            }
            for s, label in _STATUS_LABELS.items()
        ]
        statuses.append(
            {
                "slug": "escalated_to_engineering",
                "label": "Escalated to engineering 🛠️",
                "category": "on_hold",
                "is_default_status": False,
                "is_archived": False,
            }
        )
        statuses.append(
            {
                "slug": "legacy_triage",
                "label": "Legacy triage",
                "category": "new",
                "is_default_status": False,
                "is_archived": True,
            }
        )
        return statuses

    def ticket_forms(self) -> list[Record]:
        forms = []
        for name, is_public in (
            ("Bug report", True),
            ("Demande de facturation", True),
            ("Internal", False),
        ):
            slug = _slug(name, "-")
            forms.append(
                {
                    "id": self.uuid(),
                    "name": name,
                    "slug": slug,
                    "url": f"https://support.example.com/forms/{slug}",
                    "description_html": self.html(f"Use this form for: {name}."),
                    "is_public": is_public,
                    "fields": [
                        {
                            "name": "Subject",
                            "slug": "subject",
                            "type": "text",
                            "description_html": "",
                            "required": True,
                            "hidden": False,
                        },
                        {
                            "name": "Priority",
                            "slug": "priority",
                            "type": "select",
                            "description_html": "<p>How urgent is it?</p>",
                            "required": False,
                            "hidden": not is_public,
                        },
                    ],
                }
            )
        return forms

    def activity_types(self) -> list[Record]:
        labels = ("Onboarding call", "Quarterly business review", "Renewal", "Réunion technique")
        return [
            {
                "id": self.uuid(),
                "label": label,
                "slug": _slug(label, "_"),
                "icon_url": f"https://icons.example.com/{_slug(label, '-')}.svg",
            }
            for label in labels
        ]

    # -- knowledge base --------------------------------------------------------------------------

    def knowledge_bases(self, count: int) -> list[Record]:
        titles = ("Help Center", "開発者ドキュメント", "Centre d'aide")
        return [
            {
                "id": self.uuid(),
                "title": titles[index % len(titles)],
                "slug": f"kb-{index}",
                "default_language": ("en", "ja", "fr")[index % 3],
                "supported_languages": ["en", "fr", "de"] if index % 3 == 0 else ["en"],
            }
            for index in range(count)
        ]

    def collections(self, kb: Record) -> list[Record]:
        collections: list[Record] = []
        for index, title in enumerate(("Getting started", "Billing", "API", "Intégrations", "FAQ")):
            parent = collections[0]["id"] if index in (3, 4) else None
            collections.append(
                {
                    "id": self.uuid(),
                    "title": title,
                    "slug": f"{kb['slug']}-{_slug(title, '-')}",
                    "description": f"Everything about {title}.",
                    "icon": self.rng.choice(("📘", "💳", "🔌", None)),
                    "parent_collection_id": parent,
                    "created_at": self.timestamp_before(self.now, 365),
                    "visibility_config": {"visibility": self.rng.choice(("public", "customer"))},
                }
            )
        return collections

    def articles(
        self, kb: Record, count: int, collections: list[Record], users: list[Record]
    ) -> list[Record]:
        articles = []
        for index in range(count):
            title = f"{self.rng.choice(_ISSUE_TITLES)} ({index + 1})"
            published = self.chance(0.75)
            body = self.html(*self.rng.sample(_SENTENCES, 3))
            created = self.timestamp_before(self.now, 365)
            slug = f"{_slug(title, '-') or 'article'}-{index}"
            articles.append(
                {
                    "id": self.uuid(),
                    "identifier": f"{kb['slug']}-{index + 1}",
                    "title": title,
                    "slug": slug,
                    "url": f"https://support.example.com/{kb['slug']}/articles/{slug}",
                    "is_published": published,
                    "is_unlisted": self.chance(0.1),
                    "collection_id": self.rng.choice(collections)["id"]
                    if self.chance(0.8)
                    else None,
                    "current_draft_content_html": body,
                    "current_published_content_html": body if published else None,
                    "last_published_at": created if published else None,
                    "created_at": created,
                    "last_edited_at": created,
                    "author_user_id": self.rng.choice(users)["id"],
                    "tags": [],
                    "visibility_config": {
                        "visibility": self.rng.choice(("public", "customer", "internal_only")),
                        "ai_agent_access": "inherit",
                        "allowed_agent_ids": [],
                    },
                }
            )
        return articles

    # -- issues and their children ---------------------------------------------------------------

    def issues(
        self, count: int, days: int, people: _People
    ) -> tuple[list[Record], dict[str, list[Record]], dict[str, list[Record]]]:
        timelines = [self.timeline(at, days) for at in self.updated_at_plan(count, days)]
        timelines.sort(key=lambda t: t.created_at)  # issue numbers grow with creation time
        issues, messages, threads = [], {}, {}
        for number, timeline in enumerate(timelines, start=1):
            issue = self.issue(number, timeline, people)
            threads[issue["id"]] = self.threads(issue)
            messages[issue["id"]] = self.messages(issue, timeline, threads[issue["id"]], people)
            self.derive_response_times(issue, messages[issue["id"]], timeline)
            issues.append(issue)
        return issues, messages, threads

    def updated_at_plan(self, count: int, days: int) -> list[datetime]:
        """`count` update times in `[now - days, now]`, including midnights and exact ties.

        About 1% of the issues sit exactly on a midnight and about 2% share their `updated_at` in
        groups of 3 to 5; the first tie group sits on a midnight too. Small datasets still get a few.
        """
        start = self.now - timedelta(days=days)
        first_midnight = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            days=1
        )
        midnights = [
            first_midnight + timedelta(days=d) for d in range((self.now - first_midnight).days + 1)
        ]
        plan: list[datetime] = []
        if midnights:
            plan.extend(self.rng.choice(midnights) for _ in range(max(3, count // 100)))
        for group in range(max(2, count // 200)):
            shared = (
                self.rng.choice(midnights) if group == 0 and midnights else self.random_time(start)
            )
            plan.extend([shared] * self.rng.randint(3, 5))
        plan = plan[:count]
        plan.extend(self.random_time(start) for _ in range(count - len(plan)))
        self.rng.shuffle(plan)
        return plan

    def random_time(self, start: datetime) -> datetime:
        return start + timedelta(
            seconds=self.rng.randint(1, int((self.now - start).total_seconds()))
        )

    def timeline(self, updated_at: datetime, days: int) -> _Timeline:
        """When the issue was created and when each of its messages was sent, up to `updated_at`."""
        earliest = max(self.now - timedelta(days=days), updated_at - timedelta(days=14))
        created_at = updated_at - timedelta(
            seconds=self.rng.randint(0, int((updated_at - earliest).total_seconds()))
        )
        life = int((updated_at - created_at).total_seconds())
        count = self.rng.choices(range(7), weights=(4, 20, 25, 20, 15, 10, 6))[0]
        offsets = sorted(self.rng.randint(0, life) for _ in range(max(count - 1, 0)))
        moments = [created_at] if count else []
        moments += [created_at + timedelta(seconds=offset) for offset in offsets]
        return _Timeline(created_at, updated_at, moments)

    def issue(self, number: int, timeline: _Timeline, people: _People) -> Record:
        issue = issue_template(self.uuid(), number, _ts(timeline.created_at))
        state = self.rng.choices(ISSUE_STATES, weights=(10, 25, 20, 5, 40))[0]
        source = self.rng.choice(ISSUE_SOURCES)
        requester = self.rng.choice(people.contacts)
        account = people.account_of(requester)
        assignee = None if state == "new" or self.chance(0.1) else self.rng.choice(people.users)
        issue.update(
            title=self.rng.choice(_ISSUE_TITLES),
            body_html=self.html(
                "Hi team,", *self.rng.sample(_SENTENCES, 2), f"Thanks,<br/>{requester['name']}"
            ),
            state=state,
            type=self.rng.choice(("conversation", "conversation", "ticket")),
            source=source,
            updated_at=_ts(timeline.updated_at),
            number_of_touches=len(timeline.message_times),
            customer_portal_visible=self.chance(0.6),
            author_unverified=source == "form" and self.chance(0.5),
            account=mini_account(account) if account else None,
            requester=mini_person(requester),
            assignee=mini_person(assignee) if assignee else None,
            team={"id": self.rng.choice(people.teams)["id"]} if self.chance(0.7) else None,
            tags=self.rng.sample(_ISSUE_TAGS, self.rng.randint(0, 3))
            if self.chance(0.95)
            else None,
            custom_fields=self.custom_values("issue"),
            external_issues=[
                {
                    "external_id": str(10000 + number),
                    "link": f"https://jira.example.com/browse/SUP-{number}",
                    "source": "jira",
                }
            ]
            if self.chance(0.1)
            else [],
            attachment_urls=[f"https://assets.example.com/{self.uuid()}/screenshot.png?Signature=x"]
            if self.chance(0.15)
            else [],
            slack={
                "channel_id": f"C{self.rng.getrandbits(40):010X}",
                "message_ts": f"{int(timeline.created_at.timestamp())}.000100",
                "workspace_id": "T0EMULATOR",
            }
            if source == "slack"
            else None,
            chat_widget_info={"page_url": "https://app.example.com/settings?tab=billing&lang=fr"}
            if source == "chat_widget"
            else None,
            csat_responses=[
                {
                    "score": self.rng.randint(1, 5),
                    "comment": self.rng.choice((None, "Merci ! 🙏", "Slow")),
                }
            ]
            if state == "closed" and self.chance(0.3)
            else [],
            snoozed_until_time=_ts(self.now + timedelta(days=self.rng.randint(1, 5)))
            if state == "on_hold" and self.chance(0.5)
            else None,
            workspace_email="support@emulated.example" if source == "email" else None,
        )
        return issue

    def threads(self, issue: Record) -> list[Record]:
        threads = []
        for _ in range(self.rng.choices((0, 1, 2), weights=(60, 30, 10))[0]):
            synced = self.chance(0.4)
            threads.append(
                {
                    "id": self.uuid(),
                    "issue_id": issue["id"],
                    "name": self.rng.choice(_THREAD_NAMES),
                    "source": "slack" if synced else None,
                    "channel_id": f"C{self.rng.getrandbits(40):010X}" if synced else None,
                    "thread_id": f"{self.rng.randint(1_700_000_000, 1_800_000_000)}.000200"
                    if synced
                    else None,
                }
            )
        return threads

    def messages(
        self, issue: Record, timeline: _Timeline, threads: list[Record], people: _People
    ) -> list[Record]:
        """The first message is the issue's body by its requester; later ones alternate."""
        messages = []
        for index, moment in enumerate(timeline.message_times):
            internal = index > 0 and bool(threads) and self.chance(0.2)
            by_customer = index == 0 or (not internal and self.chance(0.4))
            if by_customer:
                contact = people.contacts_by_id[issue["requester"]["id"]]
                author = _author(contact, contact=mini_person(contact))
            else:
                user = self.rng.choice(people.users)
                author = _author(user, user=mini_person(user))
            if index == 0:
                html = issue["body_html"]
            else:
                html = self.html(self.rng.choice(_NOTES if internal else _REPLIES))
            message = message_template(self.uuid(), _ts(moment), html, author, issue["source"])
            if internal:
                message.update(
                    is_private=True, source="pylon", thread_id=self.rng.choice(threads)["id"]
                )
            elif issue["source"] == "email":
                message["email_info"] = self.email_info(issue, author)
            if self.chance(0.1):
                message["file_urls"] = [
                    f"https://assets.example.com/{self.uuid()}/log.txt?Signature=x"
                ]
            messages.append(message)
        return messages

    def email_info(self, issue: Record, author: Record) -> Record:
        sender = (author["contact"] or author["user"])["email"] or "unknown@example.com"
        return {
            "from_email": sender,
            "to_emails": [issue["workspace_email"]],
            "cc_emails": [],
            "bcc_emails": [],
            "message_id": f"<{self.uuid()}@mail.example.com>",
            "sender_authentication_status": self.rng.choice(("pass", "pass", "unknown", "fail")),
            "opens": [],
        }

    def derive_response_times(
        self, issue: Record, messages: list[Record], timeline: _Timeline
    ) -> None:
        """Fill the SLA fields from the messages, the way Pylon computes them."""
        created = timeline.created_at
        if messages:
            issue["latest_message_time"] = messages[-1]["timestamp"]
        first_reply = next(
            (m for m in messages if m["author"]["user"] and not m["is_private"]), None
        )
        if first_reply:
            replied = datetime.fromisoformat(first_reply["timestamp"])
            seconds = int((replied - created).total_seconds())
            issue.update(
                first_response_time=first_reply["timestamp"],
                first_response_seconds=seconds,
                business_hours_first_response_seconds=seconds * 2 // 3,
            )
        if issue["state"] == "closed":
            seconds = int((timeline.updated_at - created).total_seconds())
            issue.update(
                resolution_time=issue["updated_at"],
                first_resolution_time=issue["updated_at"],
                resolution_seconds=seconds,
                business_hours_resolution_seconds=seconds * 2 // 3,
            )
        total = int((timeline.updated_at - created).total_seconds())
        issue["time_in_status_seconds"] = {issue["state"]: total}
        issue["business_hours_time_in_status_seconds"] = {issue["state"]: total * 2 // 3}

    # -- tasks -----------------------------------------------------------------------------------

    def tasks(self, count: int, days: int, people: _People) -> list[Record]:
        """Tasks on accounts, some in projects and milestones, some split into subtasks.

        A subtask hangs under an earlier top-level task and shares its account, project and
        milestone, so parents and subtasks never form a cycle.
        """
        projects = {self.uuid(): [self.uuid(), self.uuid()] for _ in range(3)}
        tasks: list[Record] = []
        for _ in range(count):
            task = self.task(days, people)
            top_level = [t for t in tasks if t["parent_task_id"] is None]
            if top_level and self.chance(0.3):
                parent = self.rng.choice(top_level)
                parent["subtask_ids"] = [*(parent["subtask_ids"] or []), task["id"]]
                task["parent_task_id"] = parent["id"]
                task.update({key: copy.copy(parent[key]) for key in _INHERITED_BY_SUBTASKS})
            elif self.chance(0.5):
                project = self.rng.choice(list(projects))
                task["project"] = {"id": project}
                if self.chance(0.6):
                    task["milestone"] = {"id": self.rng.choice(projects[project])}
            tasks.append(task)
        return tasks

    def task(self, days: int, people: _People) -> Record:
        created = self.moment_between(self.now - timedelta(days=days), self.now)
        updated = self.moment_between(created, self.now)
        status = self.rng.choice(TASK_STATUSES)
        account = self.rng.choice(people.accounts) if self.chance(0.8) else None
        return {
            "id": self.uuid(),
            "title": self.rng.choice(_TASK_TITLES),
            "body_html": self.html(*self.rng.sample(_SENTENCES, 2)),
            "status": status,
            # Tasks refer to an account without its external ids (unlike issues).
            "account": {"id": account["id"], "external_ids": None} if account else None,
            "assignee": self.task_assignee(people),
            "project": None,
            "milestone": None,
            "parent_task_id": None,
            "subtask_ids": None,
            "due_date": _ts(created + timedelta(days=self.rng.randint(1, 45)))
            if self.chance(0.6)
            else None,
            "completed_at": _ts(self.moment_between(created, updated))
            if status == "completed"
            else None,
            "customer_portal_visible": self.chance(0.3),
            "custom_fields": {},
            "created_at": _ts(created),
            "updated_at": _ts(updated),
        }

    def task_assignee(self, people: _People) -> Record | None:
        """A user (mostly), a contact, or nobody."""
        kind = self.rng.choices(("user", "contact", None), weights=(6, 2, 2))[0]
        if kind is None:
            return None
        return {
            kind: mini_person(self.rng.choice(people.users if kind == "user" else people.contacts))
        }


def _ts(moment: datetime) -> str:
    return format_timestamp(moment.replace(microsecond=0))


def _author(person: Record, *, contact: Record | None = None, user: Record | None = None) -> Record:
    return {
        "name": person["name"],
        "avatar_url": person["avatar_url"] or None,
        "contact": contact,
        "user": user,
    }


def _slug(text: str, separator: str) -> str:
    """ASCII slug of `text` (CJK-only text gives an empty string)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in ascii_text.lower()).split()
    return separator.join(words)
