/**
 * The engines' schema version, kept in meta under a reserved name. Version 1: objects, hints
 * (with an index by target and id, and one by age) and meta. Version 2 adds an index of hints by
 * partition (the reaper asks whether a partition has any). Bump it with every change to the
 * tables, and teach the SQLite engine to migrate from the older versions.
 */
export const schemaVersionCurrent = 2;

export const schemaVersionMetaName = 'storage.schema_version';
