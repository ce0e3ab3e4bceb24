-- The warehouse schema as the code of commit 0d5e67c (before every table came from a spec) left
-- it: `PostgresWarehouse.ensure_tables()`, `WebhookEventStore.ensure_table()` and
-- `PostgresRateBudget.ensure_tables()` on an empty schema, then
-- `pg_dump --schema-only --no-owner --no-privileges -n main_snapshot` with its session settings
-- left out. `test_upgrade.py` restores it under a test schema's name.
--
--

--
-- Name: main_snapshot; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA main_snapshot;

--
-- Name: _jsonb_to_text_array(jsonb); Type: FUNCTION; Schema: main_snapshot; Owner: -
--

CREATE FUNCTION main_snapshot._jsonb_to_text_array(value jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
SELECT CASE WHEN jsonb_typeof(value) = 'array' THEN ARRAY(
    SELECT CASE WHEN jsonb_typeof(e.element) IN ('string', 'number', 'boolean') THEN e.element #>> '{}' END
    FROM jsonb_array_elements(value) WITH ORDINALITY AS e(element, n) ORDER BY e.n
) END
$$;

--
-- Name: _jsonb_to_timestamptz(jsonb); Type: FUNCTION; Schema: main_snapshot; Owner: -
--

CREATE FUNCTION main_snapshot._jsonb_to_timestamptz(value jsonb) RETURNS timestamp with time zone
    LANGUAGE plpgsql IMMUTABLE PARALLEL RESTRICTED
    SET "TimeZone" TO 'UTC'
    AS $$
DECLARE
    text_value text := value #>> '{}';
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string'
            OR text_value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN text_value::timestamptz;
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END;
END
$$;

--
-- Name: account_support_summary; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.account_support_summary (
    account_id text NOT NULL,
    computed_at timestamp with time zone,
    open_issues bigint,
    open_by_state jsonb,
    issues_last_90_days bigint,
    median_first_response_seconds double precision,
    median_resolution_seconds double precision,
    latest_issues jsonb,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE account_support_summary; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.account_support_summary IS 'Support summary per account, computed with pandas from `issues`, `issue_statuses` and `accounts`: what the issue sidebar shows. One row per account of `accounts` or of an issue.';

--
-- Name: accounts; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.accounts (
    id text NOT NULL,
    name text,
    type text,
    domain text,
    domains text[],
    primary_domain text,
    owner_id text,
    tags text[],
    is_disabled boolean,
    parent_account_id text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    latest_customer_activity_time timestamp with time zone,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE accounts; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.accounts IS 'Customer accounts.';

--
-- Name: activity_types; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.activity_types (
    id text NOT NULL,
    label text,
    slug text,
    icon_url text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE activity_types; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.activity_types IS 'Account activity types.';

--
-- Name: child_fetch_state; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.child_fetch_state (
    stream text NOT NULL,
    parent_id text NOT NULL,
    parent_version timestamp with time zone NOT NULL,
    fetched_at timestamp with time zone NOT NULL
);

--
-- Name: contacts; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.contacts (
    id text NOT NULL,
    name text,
    email text,
    account_id text,
    portal_role text,
    portal_role_id text,
    primary_phone_number text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE contacts; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.contacts IS 'Contacts (end customers) with their account.';

--
-- Name: custom_fields; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.custom_fields (
    id text NOT NULL,
    slug text,
    label text,
    description text,
    type text,
    object_type text,
    source text,
    is_read_only boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE custom_fields; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.custom_fields IS 'Custom field definitions for accounts, issues and contacts.';

--
-- Name: issue_messages; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.issue_messages (
    id text NOT NULL,
    issue_id text NOT NULL,
    "timestamp" timestamp with time zone,
    is_private boolean,
    source text,
    thread_id text,
    author_name text,
    author_contact_id text,
    author_contact_email text,
    author_user_id text,
    author_user_email text,
    from_email text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE issue_messages; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.issue_messages IS 'Messages (replies and internal notes) of each issue, with `issue_id` added; `message_html` is in `raw`.';

--
-- Name: issue_statuses; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.issue_statuses (
    slug text NOT NULL,
    label text,
    category text,
    is_default_status boolean,
    is_archived boolean,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE issue_statuses; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.issue_statuses IS 'Issue statuses, keyed by slug, with their category (open, closed, ...).';

--
-- Name: issue_threads; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.issue_threads (
    id text NOT NULL,
    issue_id text NOT NULL,
    name text,
    source text,
    channel_id text,
    thread_id text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE issue_threads; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.issue_threads IS 'Internal note threads of each issue.';

--
-- Name: issues; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.issues (
    id text NOT NULL,
    number bigint,
    title text,
    state text,
    type text,
    source text,
    link text,
    account_id text,
    requester_id text,
    requester_email text,
    assignee_id text,
    assignee_email text,
    team_id text,
    tags text[],
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    first_response_time timestamp with time zone,
    first_response_seconds bigint,
    business_hours_first_response_seconds bigint,
    resolution_time timestamp with time zone,
    resolution_seconds bigint,
    business_hours_resolution_seconds bigint,
    latest_message_time timestamp with time zone,
    snoozed_until_time timestamp with time zone,
    number_of_touches bigint,
    customer_portal_visible boolean,
    is_issue_group boolean,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL,
    _deleted_at timestamp with time zone
);

--
-- Name: TABLE issues; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.issues IS 'Pylon issues (tickets) whose `updated_at` falls in the partition''s days, upserted by id: a stored issue is only replaced by an equal or newer `updated_at`. Every version seen is also kept in `issues_history`. An issue deleted in Pylon keeps its row, marked in `_deleted_at`.';

--
-- Name: issues_history; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.issues_history (
    id text NOT NULL,
    number bigint,
    state text,
    assignee_id text,
    team_id text,
    updated_at timestamp with time zone NOT NULL,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE issues_history; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.issues_history IS 'Every version of every issue seen, one row per (id, updated_at).';

--
-- Name: knowledge_base_articles; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.knowledge_base_articles (
    id text NOT NULL,
    knowledge_base_id text NOT NULL,
    title text,
    slug text,
    url text,
    identifier text,
    is_published boolean,
    is_unlisted boolean,
    collection_id text,
    visibility text,
    author_user_id text,
    created_at timestamp with time zone,
    last_published_at timestamp with time zone,
    last_edited_at timestamp with time zone,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE knowledge_base_articles; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.knowledge_base_articles IS 'Articles of every knowledge base, drafts and published content (HTML in `raw`).';

--
-- Name: knowledge_base_collections; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.knowledge_base_collections (
    id text NOT NULL,
    knowledge_base_id text NOT NULL,
    title text,
    slug text,
    description text,
    parent_collection_id text,
    created_at timestamp with time zone,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE knowledge_base_collections; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.knowledge_base_collections IS 'Collections (folders) of every knowledge base.';

--
-- Name: knowledge_bases; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.knowledge_bases (
    id text NOT NULL,
    title text,
    slug text,
    default_language text,
    supported_languages text[],
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE knowledge_bases; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.knowledge_bases IS 'Knowledge bases.';

--
-- Name: pylon_rate_429s; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.pylon_rate_429s (
    api_host text NOT NULL,
    endpoint text NOT NULL,
    answered_at timestamp with time zone NOT NULL
);

--
-- Name: pylon_rate_limits; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.pylon_rate_limits (
    api_host text NOT NULL,
    endpoint text NOT NULL,
    window_seconds double precision NOT NULL,
    configured double precision NOT NULL,
    rate double precision NOT NULL,
    ceiling double precision NOT NULL,
    source text NOT NULL,
    stable_since timestamp with time zone NOT NULL,
    decreased_at timestamp with time zone,
    paused_until timestamp with time zone,
    freshness_waiting_until timestamp with time zone,
    rate_limited_total bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

--
-- Name: pylon_rate_slots; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.pylon_rate_slots (
    id bigint NOT NULL,
    api_host text NOT NULL,
    endpoint text NOT NULL,
    priority text NOT NULL,
    taken_at timestamp with time zone NOT NULL,
    done_at timestamp with time zone,
    lease_until timestamp with time zone NOT NULL,
    status integer
);

--
-- Name: pylon_rate_slots_id_seq; Type: SEQUENCE; Schema: main_snapshot; Owner: -
--

CREATE SEQUENCE main_snapshot.pylon_rate_slots_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: pylon_rate_slots_id_seq; Type: SEQUENCE OWNED BY; Schema: main_snapshot; Owner: -
--

ALTER SEQUENCE main_snapshot.pylon_rate_slots_id_seq OWNED BY main_snapshot.pylon_rate_slots.id;

--
-- Name: support_daily_metrics; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.support_daily_metrics (
    id text NOT NULL,
    day text NOT NULL,
    team_id text,
    issues_created bigint,
    issues_resolved bigint,
    open_at_end_of_day bigint,
    median_first_response_seconds double precision,
    p90_first_response_seconds double precision,
    median_resolution_seconds double precision,
    p90_resolution_seconds double precision,
    reopened bigint,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE support_daily_metrics; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.support_daily_metrics IS 'Support metrics per UTC day and team, computed with pandas from `issues`, `issues_history` and `issue_statuses`. A team has a row for a day when at least one issue counts in one of its columns.';

--
-- Name: tags; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.tags (
    id text NOT NULL,
    value text,
    hex_color text,
    object_type text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE tags; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.tags IS 'Tags of issues, accounts and articles.';

--
-- Name: tasks; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.tasks (
    id text NOT NULL,
    title text,
    status text,
    account_id text,
    assignee_user_id text,
    assignee_contact_id text,
    project_id text,
    milestone_id text,
    parent_task_id text,
    customer_portal_visible boolean,
    due_date timestamp with time zone,
    completed_at timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE tasks; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.tasks IS 'Tasks (customer-facing to-dos, optionally in projects and milestones).';

--
-- Name: teams; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.teams (
    id text NOT NULL,
    name text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE teams; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.teams IS 'Support teams and their members.';

--
-- Name: ticket_forms; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.ticket_forms (
    id text NOT NULL,
    name text,
    slug text,
    url text,
    is_public boolean,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE ticket_forms; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.ticket_forms IS 'Ticket forms; their fields are in `raw`.';

--
-- Name: user_roles; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.user_roles (
    id text NOT NULL,
    name text,
    slug text,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE user_roles; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.user_roles IS 'User roles.';

--
-- Name: users; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.users (
    id text NOT NULL,
    name text,
    email text,
    role_id text,
    status text,
    is_deactivated boolean,
    raw jsonb NOT NULL,
    _synced_at timestamp with time zone NOT NULL
);

--
-- Name: TABLE users; Type: COMMENT; Schema: main_snapshot; Owner: -
--

COMMENT ON TABLE main_snapshot.users IS 'Pylon users (agents).';

--
-- Name: webhook_events; Type: TABLE; Schema: main_snapshot; Owner: -
--

CREATE TABLE main_snapshot.webhook_events (
    id bigint NOT NULL,
    content_sha256 text NOT NULL,
    received_at timestamp with time zone NOT NULL,
    body bytea NOT NULL
);

--
-- Name: webhook_events_id_seq; Type: SEQUENCE; Schema: main_snapshot; Owner: -
--

ALTER TABLE main_snapshot.webhook_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME main_snapshot.webhook_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: pylon_rate_slots id; Type: DEFAULT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.pylon_rate_slots ALTER COLUMN id SET DEFAULT nextval('main_snapshot.pylon_rate_slots_id_seq'::regclass);

--
-- Name: account_support_summary account_support_summary_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.account_support_summary
    ADD CONSTRAINT account_support_summary_pkey PRIMARY KEY (account_id);

--
-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);

--
-- Name: activity_types activity_types_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.activity_types
    ADD CONSTRAINT activity_types_pkey PRIMARY KEY (id);

--
-- Name: child_fetch_state child_fetch_state_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.child_fetch_state
    ADD CONSTRAINT child_fetch_state_pkey PRIMARY KEY (stream, parent_id);

--
-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);

--
-- Name: custom_fields custom_fields_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.custom_fields
    ADD CONSTRAINT custom_fields_pkey PRIMARY KEY (id);

--
-- Name: issue_messages issue_messages_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.issue_messages
    ADD CONSTRAINT issue_messages_pkey PRIMARY KEY (id);

--
-- Name: issue_statuses issue_statuses_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.issue_statuses
    ADD CONSTRAINT issue_statuses_pkey PRIMARY KEY (slug);

--
-- Name: issue_threads issue_threads_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.issue_threads
    ADD CONSTRAINT issue_threads_pkey PRIMARY KEY (id);

--
-- Name: issues_history issues_history_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.issues_history
    ADD CONSTRAINT issues_history_pkey PRIMARY KEY (id, updated_at);

--
-- Name: issues issues_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.issues
    ADD CONSTRAINT issues_pkey PRIMARY KEY (id);

--
-- Name: knowledge_base_articles knowledge_base_articles_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.knowledge_base_articles
    ADD CONSTRAINT knowledge_base_articles_pkey PRIMARY KEY (id);

--
-- Name: knowledge_base_collections knowledge_base_collections_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.knowledge_base_collections
    ADD CONSTRAINT knowledge_base_collections_pkey PRIMARY KEY (id);

--
-- Name: knowledge_bases knowledge_bases_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.knowledge_bases
    ADD CONSTRAINT knowledge_bases_pkey PRIMARY KEY (id);

--
-- Name: pylon_rate_limits pylon_rate_limits_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.pylon_rate_limits
    ADD CONSTRAINT pylon_rate_limits_pkey PRIMARY KEY (api_host, endpoint);

--
-- Name: pylon_rate_slots pylon_rate_slots_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.pylon_rate_slots
    ADD CONSTRAINT pylon_rate_slots_pkey PRIMARY KEY (id);

--
-- Name: support_daily_metrics support_daily_metrics_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.support_daily_metrics
    ADD CONSTRAINT support_daily_metrics_pkey PRIMARY KEY (id);

--
-- Name: tags tags_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (id);

--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);

--
-- Name: teams teams_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (id);

--
-- Name: ticket_forms ticket_forms_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.ticket_forms
    ADD CONSTRAINT ticket_forms_pkey PRIMARY KEY (id);

--
-- Name: user_roles user_roles_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.user_roles
    ADD CONSTRAINT user_roles_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: webhook_events webhook_events_content_sha256_key; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.webhook_events
    ADD CONSTRAINT webhook_events_content_sha256_key UNIQUE (content_sha256);

--
-- Name: webhook_events webhook_events_pkey; Type: CONSTRAINT; Schema: main_snapshot; Owner: -
--

ALTER TABLE ONLY main_snapshot.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (id);

--
-- Name: issue_messages_issue_id_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX issue_messages_issue_id_idx ON main_snapshot.issue_messages USING btree (issue_id);

--
-- Name: issue_threads_issue_id_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX issue_threads_issue_id_idx ON main_snapshot.issue_threads USING btree (issue_id);

--
-- Name: issues_account_id_created_at_desc_number_desc_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX issues_account_id_created_at_desc_number_desc_idx ON main_snapshot.issues USING btree (account_id, created_at DESC NULLS LAST, number DESC NULLS LAST);

--
-- Name: issues_account_id_requester_id_created_at_desc_number_desc_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX issues_account_id_requester_id_created_at_desc_number_desc_idx ON main_snapshot.issues USING btree (account_id, requester_id, created_at DESC NULLS LAST, number DESC NULLS LAST);

--
-- Name: issues_updated_at_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX issues_updated_at_idx ON main_snapshot.issues USING btree (updated_at);

--
-- Name: knowledge_base_articles_knowledge_base_id_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX knowledge_base_articles_knowledge_base_id_idx ON main_snapshot.knowledge_base_articles USING btree (knowledge_base_id);

--
-- Name: knowledge_base_collections_knowledge_base_id_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX knowledge_base_collections_knowledge_base_id_idx ON main_snapshot.knowledge_base_collections USING btree (knowledge_base_id);

--
-- Name: pylon_rate_429s_by_endpoint; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX pylon_rate_429s_by_endpoint ON main_snapshot.pylon_rate_429s USING btree (api_host, endpoint, answered_at);

--
-- Name: pylon_rate_slots_by_endpoint; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX pylon_rate_slots_by_endpoint ON main_snapshot.pylon_rate_slots USING btree (api_host, endpoint, taken_at);

--
-- Name: support_daily_metrics_day_idx; Type: INDEX; Schema: main_snapshot; Owner: -
--

CREATE INDEX support_daily_metrics_day_idx ON main_snapshot.support_daily_metrics USING btree (day);

--
--

