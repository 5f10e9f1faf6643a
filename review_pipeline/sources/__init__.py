"""Sources: mapping files, the canonical model as code, and the file-drop layer.

Every source (a CRM database, spreadsheet exports, an ERP's finance files) is
described by a YAML mapping (:mod:`review_pipeline.sources.mapping`) onto the
canonical model (:mod:`review_pipeline.sources.canonical`, mirroring
``docs/canonical.md``). Files dropped in a landing folder are read safely and
streamed into ``raw.file_<entity>`` (:mod:`review_pipeline.sources.files`).
"""
