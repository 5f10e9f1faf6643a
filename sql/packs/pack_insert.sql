-- Record a built pack (docs/packs.md). The same content rebuilt is the same
-- pack: the unique key (kind, period, manager_id, sha256) makes it a no-op,
-- and no row is returned.
insert into ops.pack (
    kind, period, review_date, manager_id, manager_name, recipient, language,
    scope_kind, scope_key, file_name, display_name, path, sha256, bytes,
    sheets, summary, data_as_of
)
values (
    :kind, :period, :review_date, :manager_id, :manager_name, :recipient, :language,
    :scope_kind, :scope_key, :file_name, :display_name, :path, :sha256, :bytes,
    cast(:sheets as jsonb), cast(:summary as jsonb), :data_as_of
)
on conflict on constraint pack_content_uk do nothing
returning pack_id
