//! The functions plan SQL may call, one sorted list per target dialect. The
//! rule is an allow list: a call to anything not named here is refused, so a
//! function a new database version or an installed extension adds stays out
//! until someone has read what it does.
//!
//! A function is on a list only if it is built in and side-effect free
//! (deterministic, or at worst reading the clock, the session's identity or a
//! random source), reads nothing outside the statement's own tables, cannot
//! sleep, and cannot touch settings, sequences, locks, files, large objects,
//! other sessions, the network or extensions. So no `nextval`,
//! `current_setting`, `pg_sleep`, `lo_*`, `dblink*`, `pg_read_*`,
//! `pg_advisory_*`, `query_to_xml` (it runs a SQL string), `load_extension`,
//! `readfile`, `changes` or `sqlite_*`; of `pg_*` only `pg_typeof`.
//!
//! Nor may a function allocate without bound from a tiny input: a statement
//! timeout stops a slow query, not a large allocation. That leaves out the
//! ones whose size is an argument, `repeat`, `lpad`, `rpad`, `array_fill`,
//! `generate_series`, `randomblob` and `zeroblob`, and `format` and `printf`
//! too, whose field width (`'%999999999s'`) is one.
//!
//! Names are lower case, as PostgreSQL folds unquoted identifiers and as
//! SQLite compares function names. `EXTRACT`, `SUBSTRING`, `POSITION`, `TRIM`
//! and `CAST` usually reach the checker as their own expressions, not calls;
//! the ones that are functions too are listed anyway.

/// The target dialect whose list applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// PostgreSQL 15 built-ins: aggregates, window functions, conditionals,
/// math, strings, dates, JSON, arrays and the session's identity.
/// `random` and `gen_random_uuid` are volatile but change nothing anyone else
/// sees; set-returning `unnest`, `json*_each`, `regexp_matches` and the like
/// yield no more rows than their input value holds.
#[rustfmt::skip]
pub const POSTGRES: &[&str] = &[
    "abs", "acos", "acosd", "age", "array_agg", "array_append", "array_cat", "array_dims",
    "array_length", "array_lower", "array_ndims", "array_position", "array_positions",
    "array_prepend", "array_remove", "array_replace", "array_to_json", "array_to_string",
    "array_upper", "ascii", "asin", "asind", "atan", "atan2", "atan2d", "atand", "avg", "bit_and",
    "bit_length", "bit_or", "bit_xor", "bool_and", "bool_or", "btrim", "cardinality", "cbrt",
    "ceil", "ceiling", "char_length", "character_length", "chr", "clock_timestamp", "coalesce",
    "concat", "concat_ws", "convert_from", "convert_to", "corr", "cos", "cosd", "cot", "count",
    "covar_pop", "covar_samp", "cume_dist", "current_database", "current_date", "current_schema",
    "current_time", "current_timestamp", "current_user", "date_bin", "date_part", "date_trunc",
    "decode", "degrees", "dense_rank", "div", "encode", "every", "exp", "extract", "first_value",
    "floor", "gcd", "gen_random_uuid", "greatest", "grouping", "initcap", "isfinite", "json_agg",
    "json_array_elements", "json_array_elements_text", "json_array_length", "json_build_array",
    "json_build_object", "json_each", "json_each_text", "json_extract_path",
    "json_extract_path_text", "json_object", "json_object_agg", "json_object_keys",
    "json_strip_nulls", "json_typeof", "jsonb_agg", "jsonb_array_elements",
    "jsonb_array_elements_text", "jsonb_array_length", "jsonb_build_array", "jsonb_build_object",
    "jsonb_each", "jsonb_each_text", "jsonb_extract_path", "jsonb_extract_path_text",
    "jsonb_insert", "jsonb_object", "jsonb_object_agg", "jsonb_object_keys", "jsonb_path_exists",
    "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
    "jsonb_pretty", "jsonb_set", "jsonb_strip_nulls", "jsonb_typeof", "justify_days",
    "justify_hours", "justify_interval", "lag", "last_value", "lcm", "lead", "least", "left",
    "length", "ln", "localtime", "localtimestamp", "log", "log10", "lower", "ltrim", "make_date",
    "make_interval", "make_time", "make_timestamp", "make_timestamptz", "max", "md5", "min",
    "min_scale", "mod", "mode", "now", "nth_value", "ntile", "nullif", "num_nonnulls", "num_nulls",
    "octet_length", "overlay", "percent_rank", "percentile_cont", "percentile_disc", "pg_typeof",
    "pi", "position", "pow", "power", "quote_ident", "quote_literal", "quote_nullable", "radians",
    "random", "rank", "regexp_count", "regexp_instr", "regexp_like", "regexp_match",
    "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table",
    "regexp_substr", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2",
    "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "replace", "reverse", "right", "round",
    "row_number", "row_to_json", "rtrim", "scale", "session_user", "sha224", "sha256", "sha384",
    "sha512", "sign", "sin", "sind", "split_part", "sqrt", "starts_with", "statement_timestamp",
    "stddev", "stddev_pop", "stddev_samp", "string_agg", "string_to_array", "string_to_table",
    "strpos", "substr", "substring", "sum", "tan", "tand", "timezone", "to_char", "to_date",
    "to_hex", "to_json", "to_jsonb", "to_number", "to_timestamp", "transaction_timestamp",
    "translate", "trim", "trim_array", "trim_scale", "trunc", "unnest", "upper", "user", "var_pop",
    "var_samp", "variance", "width_bucket",
];

/// SQLite 3.4x built-ins, with the math functions and JSON1 (both part of
/// SQLite as shipped). `random` is allowed; `changes`, `last_insert_rowid`
/// and `total_changes` read the connection's state, and are not.
#[rustfmt::skip]
pub const SQLITE: &[&str] = &[
    // The JSON operators, which SQLite's authorizer reports as functions.
    "->", "->>",
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "avg", "ceil", "ceiling",
    "char", "coalesce", "concat", "concat_ws", "cos", "cosh", "count", "cume_dist", "current_date",
    "current_time", "current_timestamp", "date", "datetime", "degrees", "dense_rank", "exp",
    "first_value", "floor", "glob", "group_concat", "hex", "ifnull", "iif", "instr", "json",
    "json_array", "json_array_length", "json_each", "json_error_position", "json_extract",
    "json_group_array", "json_group_object", "json_insert", "json_object", "json_patch",
    "json_pretty", "json_quote", "json_remove", "json_replace", "json_set", "json_tree",
    "json_type", "json_valid", "jsonb", "jsonb_array", "jsonb_extract", "jsonb_group_array",
    "jsonb_group_object", "jsonb_insert", "jsonb_object", "jsonb_patch", "jsonb_remove",
    "jsonb_replace", "jsonb_set", "julianday", "lag", "last_value", "lead", "length", "like",
    "likelihood", "likely", "ln", "log", "log10", "log2", "lower", "ltrim", "max", "min", "mod",
    "nth_value", "ntile", "nullif", "octet_length", "percent_rank", "pi", "pow", "power", "quote",
    "radians", "random", "rank", "replace", "round", "row_number", "rtrim", "sign", "sin", "sinh",
    "soundex", "sqrt", "strftime", "string_agg", "substr", "substring", "sum", "tan", "tanh",
    "time", "timediff", "total", "trim", "trunc", "typeof", "unhex", "unicode", "unixepoch",
    "unlikely", "upper",
];

/// Whether plan SQL may call the function named by `qualified`, the name's
/// dotted parts (`["now"]`, `["pg_catalog", "now"]`), compared without case.
/// PostgreSQL allows an unqualified name or one in `pg_catalog`, which an
/// unqualified name resolves to first unless a search_path says otherwise;
/// any other schema holds somebody's own functions. SQLite has no schemas
/// for functions, so a qualified name is never one of its built-ins.
/// PostgreSQL keeps the case of a quoted name (`"NOW"` is not `now`), so a
/// caller should pass a quoted part only when it is already lower case.
pub fn allowed(dialect: Dialect, qualified: &[String]) -> bool {
    let (list, name) = match (dialect, qualified) {
        (Dialect::Postgres, [name]) => (POSTGRES, name),
        (Dialect::Postgres, [schema, name]) if schema.eq_ignore_ascii_case("pg_catalog") => {
            (POSTGRES, name)
        }
        (Dialect::Sqlite, [name]) => (SQLITE, name),
        _ => return false,
    };
    let name = name.to_ascii_lowercase();
    list.binary_search(&name.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: &str) -> Vec<String> {
        name.split('.').map(String::from).collect()
    }

    fn pg(name: &str) -> bool {
        allowed(Dialect::Postgres, &parts(name))
    }

    fn lite(name: &str) -> bool {
        allowed(Dialect::Sqlite, &parts(name))
    }

    #[test]
    fn lists_are_sorted_unique_lower_case() {
        for list in [POSTGRES, SQLITE] {
            for pair in list.windows(2) {
                assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
            }
            for name in list {
                assert!(!name.is_empty());
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                        || ["->", "->>"].contains(name),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn everyday_built_ins_are_allowed() {
        let postgres = "count COUNT coalesce now Now date_trunc percentile_cont extract to_char \
                        round current_timestamp pg_typeof pg_catalog.now PG_CATALOG.COUNT";
        for name in postgres.split_whitespace() {
            assert!(pg(name), "postgres refused {name}");
        }
        for name in "count coalesce json_extract strftime ifnull round".split_whitespace() {
            assert!(lite(name), "sqlite refused {name}");
        }
        assert!(!lite("pg_catalog.now"));
        assert!(!lite("main.count"));
    }

    #[test]
    fn everything_else_is_refused() {
        let names = "pg_sleep pg_sleep_for set_config current_setting nextval setval lo_import \
                     lo_export lo_from_bytea dblink pg_read_file pg_terminate_backend \
                     pg_advisory_lock query_to_xml readfile writefile load_extension \
                     fts3_tokenizer randomblob zeroblob repeat lpad generate_series format \
                     printf public.count evil.now pg_catalog.pg_sleep a.pg_catalog.now my_func";
        for name in names.split_whitespace().chain([""]) {
            assert!(!pg(name), "postgres allowed {name}");
            assert!(!lite(name), "sqlite allowed {name}");
        }
        assert!(!allowed(Dialect::Postgres, &[]));
        assert!(!allowed(Dialect::Sqlite, &[]));
    }
}
