-- The simulator's own state (not part of the CRM; extraction never reads it).
create schema if not exists sim;

create table if not exists sim.world (
    world_key text primary key,
    world_value text not null
);

create table if not exists sim.slot_state (
    slot_id bigint primary key,
    next_event_day date
);

-- The simulated ERP: every order, invoice and collection, with the day it is
-- exported; daily finance files are written from these rows.
create table if not exists sim.erp_order (
    order_no text primary key,
    slot_id bigint,
    order_date date not null,
    customer_id text not null,
    customer_name text not null,
    opp_code text,
    owner_id text not null,
    product_line_code text not null,
    amount numeric(18, 2) not null,
    defect text
);

create table if not exists sim.erp_invoice (
    invoice_no text primary key,
    slot_id bigint,
    order_no text not null,
    invoice_date date not null,
    due_date date not null,
    customer_id text not null,
    customer_name text not null,
    owner_id text not null,
    amount numeric(18, 2) not null,
    defect text
);

create table if not exists sim.erp_collection (
    collection_no text primary key,
    slot_id bigint,
    invoice_no text not null,
    collection_date date not null,
    customer_id text not null,
    customer_name text not null,
    owner_id text not null,
    amount numeric(18, 2) not null,
    defect text
);

create table if not exists sim.ground_truth (
    rule_id text not null,
    entity_type text not null,
    entity_id text not null,
    day date not null,
    detail text not null,
    known_day date not null,
    source_key text not null
);

create index if not exists erp_order_date_idx on sim.erp_order (order_date);
create index if not exists erp_order_slot_idx on sim.erp_order (slot_id);
create index if not exists erp_invoice_date_idx on sim.erp_invoice (invoice_date);
create index if not exists erp_invoice_slot_idx on sim.erp_invoice (slot_id);
create index if not exists erp_collection_date_idx on sim.erp_collection (collection_date);
create index if not exists erp_collection_slot_idx on sim.erp_collection (slot_id);
create index if not exists ground_truth_source_idx on sim.ground_truth (source_key);
