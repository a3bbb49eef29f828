/**
 * The engines' schema version, kept in meta under a reserved name. Version 1: objects, hints
 * (with an index by target and id, and one by age) and meta. Bump it with every change to the
 * tables, and teach the SQLite engine to migrate from the older versions.
 */
export const schemaVersionCurrent = 1;

export const schemaVersionMetaName = 'storage.schema_version';
