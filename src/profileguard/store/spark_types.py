"""Spark SQL types spelled as DuckDB type names, so callers see one vocabulary.

``Engine.column_types`` answers in DuckDB spelling (``VARCHAR``, ``DECIMAL(18,2)``,
``TIMESTAMP``) whatever the engine, because the build pastes those names into
``TRY_CAST(... AS <type>)`` — which the Spark engine transpiles back again.
"""

from __future__ import annotations

from typing import Any

_SIMPLE = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "boolean": "BOOLEAN",
    "byte": "TINYINT", "short": "SMALLINT", "integer": "INTEGER", "long": "BIGINT",
    "float": "FLOAT", "double": "DOUBLE", "date": "DATE", "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE", "binary": "BLOB", "null": "NULL",
    "void": "NULL",
}


def duckdb_type(spark_type: Any) -> str:
    """DuckDB name of a Spark type given as its JSON form (``StructField.dataType.jsonValue()``)."""
    if isinstance(spark_type, str):
        if spark_type.startswith("decimal("):
            return "DECIMAL" + spark_type[len("decimal"):].replace(" ", "")
        base = spark_type.split("(", 1)[0]
        return _SIMPLE.get(base, spark_type.upper())
    kind = spark_type.get("type")
    if kind == "array":
        return duckdb_type(spark_type["elementType"]) + "[]"
    if kind == "map":
        return (f"MAP({duckdb_type(spark_type['keyType'])}, "
                f"{duckdb_type(spark_type['valueType'])})")
    if kind == "struct":
        fields = ", ".join(f'"{f["name"]}" {duckdb_type(f["type"])}'
                           for f in spark_type["fields"])
        return f"STRUCT({fields})"
    return str(kind).upper()


def schema_types(schema: dict[str, Any]) -> dict[str, str]:
    """Column name → DuckDB type name for a Spark schema in JSON form."""
    return {str(f["name"]): duckdb_type(f["type"]) for f in schema.get("fields", [])}
