//! DataFusion filters as delta-expr predicates: the filter is written as
//! SQL by DataFusion's unparser (columns unqualified) and parsed by
//! delta-expr, then typed against the table schema. A filter either side
//! cannot express is not pushed down.

use std::collections::HashSet;

use datafusion::common::Column;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::sql::unparser::expr_to_sql;
use delta_schema::StructType;

/// How a filter is pushed into a scan of a Delta table.
pub type Pushdown = TableProviderFilterPushDown;

/// The delta-expr form of a DataFusion expression (columns unqualified),
/// when it has one.
pub fn to_expr(expr: &Expr) -> Option<delta_expr::Expr> {
    let unqualified = expr
        .clone()
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) => Transformed::yes(Expr::Column(Column::new_unqualified(c.name))),
                other => Transformed::no(other),
            })
        })
        .ok()?
        .data;
    let sql = expr_to_sql(&unqualified).ok()?.to_string();
    delta_expr::parse(&sql).ok()
}

/// The delta-expr predicate of a DataFusion filter over a table with this
/// schema; `None` when it has none (a form either side does not know, or
/// one that does not type-check against the schema).
pub fn to_predicate(filter: &Expr, schema: &StructType) -> Option<delta_expr::Expr> {
    let predicate = to_expr(filter)?;
    delta_expr::bind_predicate(&predicate, schema).ok()?;
    Some(predicate)
}

/// How a filter is pushed down: `Exact` when it reads only partition
/// columns (files are chosen by their partition values, so every row read
/// matches), `Inexact` when it reads data columns (files are pruned by
/// statistics; DataFusion filters the rows again), `Unsupported` when it
/// has no delta-expr form.
pub fn pushdown(filter: &Expr, schema: &StructType, partition_columns: &[String]) -> Pushdown {
    if to_predicate(filter, schema).is_none() {
        return Pushdown::Unsupported;
    }
    let partitions: HashSet<&str> = partition_columns.iter().map(String::as_str).collect();
    let only_partitions = filter
        .column_refs()
        .iter()
        .all(|c| partitions.contains(c.name.as_str()));
    if only_partitions {
        Pushdown::Exact
    } else {
        Pushdown::Inexact
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};
    use delta_schema::{DataType, StructField};

    use super::*;

    fn schema() -> StructType {
        StructType::new([
            StructField::new("id", DataType::LONG, true),
            StructField::new("city", DataType::STRING, true),
        ])
    }

    #[test]
    fn filters_translate_and_classify() {
        let parts = ["city".to_string()];
        let on_city = col("city").eq(lit("Oslo"));
        assert_eq!(pushdown(&on_city, &schema(), &parts), Pushdown::Exact);
        let on_id = col("id").gt(lit(5i64)).and(col("city").eq(lit("Oslo")));
        assert_eq!(pushdown(&on_id, &schema(), &parts), Pushdown::Inexact);
        let predicate = to_predicate(&on_id, &schema()).unwrap();
        assert_eq!(
            predicate,
            delta_expr::parse("id > 5 AND city = 'Oslo'").unwrap()
        );
        // a column the table lacks
        let unknown = col("nope").eq(lit(1i64));
        assert_eq!(pushdown(&unknown, &schema(), &parts), Pushdown::Unsupported);
        // qualified columns are read unqualified
        let qualified = Expr::Column(Column::new(Some("t"), "id")).lt(lit(3i64));
        assert!(to_predicate(&qualified, &schema()).is_some());
    }
}
