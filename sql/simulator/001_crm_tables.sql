-- The simulated CRM's own schema (a source system, not the warehouse).
-- Tables are created without secondary indexes; 002_crm_indexes.sql adds
-- keys and indexes after the bulk load. Names follow the CRM vendor's style
-- (sys_, org_, opp_ prefixes); Chinese stage and status names are mapped to
-- DOMAIN.md's canonical ones by the extraction's mapping file.

create schema if not exists crm;

-- Reference data ----------------------------------------------------------
create table if not exists crm.dict_industry (
    industry_code text not null,
    industry_name text not null
);

create table if not exists crm.dict_city (
    city_code text not null,          -- 6-digit administrative division code
    city_name text not null,
    province_name text not null
);

create table if not exists crm.product_line (
    product_line_code text not null,
    product_line_name text not null,
    bu_code text not null             -- INFO (hardware) / SOFT (software and services)
);

-- Organisation --------------------------------------------------------------
create table if not exists crm.org_unit (
    unit_id text not null,
    unit_type text not null,          -- 事业部 (business unit) / 省区 (region) / 团队 (team)
    unit_name text not null,
    bu_code text not null,
    parent_unit_id text,
    province_name text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.sys_user (
    user_id text not null,            -- employee number (工号), also used by finance files
    user_name text not null,
    email text not null,
    bu_code text not null,
    position_title text not null,     -- 销售经理 / 团队经理 / 省区总经理 / 事业部总经理
    hire_date date not null,
    leave_date date,                  -- last working day; null while employed
    user_status text not null,        -- 在职 / 离职
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.user_assignment (
    assignment_id bigint not null,
    user_id text not null,
    unit_id text not null,            -- the team (sales, team manager), region or business unit
    role_code text not null,          -- SALES / TEAM_MANAGER / REGION_MANAGER / BU_HEAD
    manager_id text,                  -- direct manager on these dates
    indirect_manager_id text,         -- the direct manager's manager
    effective_from date not null,
    effective_to date,                -- inclusive; null while current
    change_reason text not null,      -- 入职 / 调动 / 晋升 / 离职 / 上级变更
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Customers -----------------------------------------------------------------
create table if not exists crm.channel_partner (
    partner_id text not null,
    partner_name text not null,
    credit_code text not null,
    province_name text not null,
    signed_from date not null,
    signed_to date,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.customer (
    customer_id text not null,        -- also the finance systems' 客户编码
    customer_name text not null,
    credit_code text,                 -- 统一社会信用代码 (GB 32100-2015)
    is_named boolean not null,        -- 指名客户
    account_level text,               -- 战略 / TOP / 一般 (named); 非指名 (non-named)
    industry_code text,
    city_code text,
    partner_id text,                  -- signed channel partner serving a non-named customer
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.customer_history (
    customer_id text not null,
    version_no integer not null,
    valid_from date not null,
    changed_at timestamptz not null,
    customer_name text not null,
    credit_code text,
    is_named boolean not null,
    account_level text,
    industry_code text,
    city_code text,
    partner_id text
);

-- Opportunities (leads, 商机) ------------------------------------------------
create table if not exists crm.opportunity (
    opp_id bigint not null,
    opp_code text not null,           -- 商机编号, quoted as 线索编号 in finance files
    opp_name text not null,
    customer_id text,
    owner_id text,
    product_line_code text,
    stage_name text,                  -- 需求识别 / 立项 / 商务推进 / 招标 / 中标
    status_name text,                 -- 跟进中 / 待下单 / 已下单 / 丢单 / 取消
    amount numeric(18, 2),
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_amount numeric(18, 2),
    tender_date date,
    bid_price numeric(18, 2),
    competitors text,                 -- 、-separated competitor names
    bid_result text,                  -- 中标 / 未中标
    lost_reason text,
    created_at timestamptz not null,
    created_by text not null,
    updated_at timestamptz not null,
    updated_by text not null
);

create table if not exists crm.opportunity_history (
    history_id bigint not null,
    opp_id bigint not null,
    seq_no integer not null,
    changed_at timestamptz not null,
    changed_by text not null,
    change_type text not null,        -- 新建 / 阶段变更 / 状态变更 / 字段变更 / 转移负责人 / 重新打开
    customer_id text,
    owner_id text,
    product_line_code text,
    stage_name text,
    status_name text,
    amount numeric(18, 2),
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_amount numeric(18, 2),
    tender_date date,
    bid_price numeric(18, 2),
    competitors text,
    bid_result text,
    lost_reason text
);

-- Activity ------------------------------------------------------------------
create table if not exists crm.visit_record (
    visit_id bigint not null,
    user_id text not null,
    customer_id text,
    opp_id bigint,
    visit_date date not null,
    visit_type text not null,         -- 上门拜访 / 技术交流 / 商务洽谈 / 电话沟通
    summary text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.daily_report (
    report_id bigint not null,
    user_id text not null,
    report_date date not null,
    content text not null,
    submitted_at timestamptz not null,
    approver_id text,
    approved_at timestamptz,
    approval_comment text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.weekly_plan (
    plan_id bigint not null,
    user_id text not null,
    week_start date not null,         -- ISO week Monday
    content text not null,
    planned_visits integer not null,
    submitted_at timestamptz not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Targets and plans -----------------------------------------------------------
create table if not exists crm.sales_target (
    target_id bigint not null,
    target_level text not null,       -- 公司 / 省区 / 团队 / 个人
    unit_id text not null,            -- org_unit.unit_id, or sys_user.user_id for 个人
    parent_unit_id text,              -- the unit the row rolls up into
    bu_code text not null,
    target_year integer not null,
    target_month integer,             -- null on the year row
    product_line_code text not null,
    account_level text not null,      -- 战略 / TOP / 一般 / 非指名
    measure_name text not null,       -- 订货 (orders) / 回款 (collections)
    target_amount numeric(18, 2) not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table if not exists crm.monthly_plan (
    plan_id bigint not null,
    user_id text not null,
    plan_month date not null,         -- first day of the month planned
    product_line_code text not null,
    measure_name text not null,       -- 订货 / 回款
    plan_amount numeric(18, 2) not null,
    stated_at timestamptz not null,
    created_at timestamptz not null
);
