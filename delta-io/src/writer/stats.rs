//! Per-file statistics (PROTOCOL.md §"Per-file Statistics"), collected while a
//! file is written and rendered as the JSON text of `add.stats`.
//!
//! What is collected follows Delta Spark (`StatisticsCollection`):
//! - `numRecords`: rows in the file.
//! - For each *indexed* leaf column (see [`StatsColumns`]), in schema order,
//!   keyed by physical names under column mapping and nested as the schema:
//!   `nullCount` for every leaf (a leaf under a null struct counts as null;
//!   arrays, maps, variants and `void` are leaves and get only `nullCount`);
//!   `minValues`/`maxValues` for the types Delta skips on (integers, floats,
//!   decimals, dates, timestamps, strings), not for booleans or binary.
//! - Strings keep a prefix of [`STRING_PREFIX_LENGTH`] characters: the min is
//!   the prefix (so it is still `<=` every value); a cut max gets the
//!   tie-breaker U+FFFD appended after the prefix, which is extended over any
//!   characters `>=` U+FFFD so that the result is still `>=` every value
//!   (Delta's `truncateMaxStringAgg`; here in code point order, the order of
//!   UTF-8 bytes that Spark compares in). When that would need more than twice
//!   the prefix length, the max is left out.
//! - Timestamps are truncated down to milliseconds, as the protocol says
//!   (readers widen the max by a millisecond); `timestamp` is written
//!   `2021-01-01T00:00:00.000Z` and `timestamp_ntz` `2021-01-01T00:00:00.000`,
//!   as Spark's `to_json` writes them; dates `2021-01-01`.
//! - Decimals are plain JSON numbers of their exact value (`-1.50`).
//! - Floats: NaN is larger than every number for Spark, so a file with a NaN
//!   has no max for that column; a min or max that is infinite, which JSON
//!   cannot hold as a number, is left out too.
//! - No `tightBounds`: absent means tight, which fresh files are.

use arrow::array::{Array, ArrayData, ArrayRef, AsArray, make_array};
use arrow::buffer::NullBuffer;
use arrow::compute::{max, max_string, min, min_string};
use arrow::datatypes::{
    ArrowNumericType, DataType as ArrowType, Date32Type, Decimal128Type, Field, Fields,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use delta_log::ParsedColumns;
use delta_schema::{DataType, PrimitiveType, StructField, StructType};

use super::partition_path::{format_date, format_decimal, format_micros};
use super::physical::file_name;
use crate::conform::ColumnMapping;
use delta_log::properties::StatsColumns;

/// Characters of a string value kept in its min and max statistics (Delta's
/// `dataSkippingStringPrefixLength`).
pub const STRING_PREFIX_LENGTH: usize = 32;

/// Appended to a cut string max (Delta's tie-breaker).
const TIE_BREAKER: char = '\u{FFFD}';

/// What statistics a leaf gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float32,
    Float64,
    Decimal(u8),
    Date,
    Timestamp,
    TimestampNtz,
    String,
    NullCountOnly,
}

fn kind_of(data_type: &DataType) -> Kind {
    match data_type {
        DataType::Primitive(p) => match p {
            PrimitiveType::Byte
            | PrimitiveType::Short
            | PrimitiveType::Integer
            | PrimitiveType::Long => Kind::Int,
            PrimitiveType::Float => Kind::Float32,
            PrimitiveType::Double => Kind::Float64,
            PrimitiveType::Decimal { scale, .. } => Kind::Decimal(*scale),
            PrimitiveType::Date => Kind::Date,
            PrimitiveType::Timestamp => Kind::Timestamp,
            PrimitiveType::TimestampNtz => Kind::TimestampNtz,
            PrimitiveType::String => Kind::String,
            PrimitiveType::Boolean
            | PrimitiveType::Binary
            | PrimitiveType::Variant
            | PrimitiveType::Void => Kind::NullCountOnly,
        },
        DataType::Array(_) | DataType::Map(_) | DataType::Struct(_) => Kind::NullCountOnly,
    }
}

/// The typed forms a checkpoint may carry of a table's statistics and
/// partition values (`add.stats_parsed`, `add.partitionValues_parsed`): every
/// data column keyed as the statistics key it (physical names under column
/// mapping), `minValues` / `maxValues` of the columns that get them,
/// `nullCount` of every leaf; the partition columns with their types.
pub fn parsed_columns(
    schema: &StructType,
    partition_columns: &[String],
    mapping: ColumnMapping,
) -> ParsedColumns {
    let data: Vec<&StructField> = schema
        .fields
        .iter()
        .filter(|f| !partition_columns.contains(&f.name))
        .collect();
    let bounds = bound_fields(&data, mapping);
    let counts = count_fields(&data, mapping);
    let mut stats = vec![Field::new("numRecords", ArrowType::Int64, true)];
    if !bounds.is_empty() {
        stats.push(Field::new(
            "minValues",
            ArrowType::Struct(bounds.clone()),
            true,
        ));
        stats.push(Field::new("maxValues", ArrowType::Struct(bounds), true));
    }
    if !counts.is_empty() {
        stats.push(Field::new("nullCount", ArrowType::Struct(counts), true));
    }
    stats.push(Field::new("tightBounds", ArrowType::Boolean, true));
    let partition_values = schema
        .fields
        .iter()
        .filter(|f| partition_columns.contains(&f.name))
        .map(|f| Field::new(file_name(f, mapping), f.data_type.to_arrow(), true))
        .collect();
    ParsedColumns {
        stats: Fields::from(stats),
        partition_values,
    }
}

/// Fields of `minValues` / `maxValues`: leaves with bounds, and the structs
/// holding any.
fn bound_fields(fields: &[&StructField], mapping: ColumnMapping) -> Fields {
    fields
        .iter()
        .filter_map(|f| {
            let data_type = match &f.data_type {
                DataType::Struct(s) => {
                    let children = bound_fields(&s.fields.iter().collect::<Vec<_>>(), mapping);
                    if children.is_empty() {
                        return None;
                    }
                    ArrowType::Struct(children)
                }
                other if kind_of(other) == Kind::NullCountOnly => return None,
                other => other.to_arrow(),
            };
            Some(Field::new(file_name(f, mapping), data_type, true))
        })
        .collect()
}

/// Fields of `nullCount`: a count for every leaf, structs nested.
fn count_fields(fields: &[&StructField], mapping: ColumnMapping) -> Fields {
    fields
        .iter()
        .filter_map(|f| {
            let data_type = match &f.data_type {
                DataType::Struct(s) => {
                    let children = count_fields(&s.fields.iter().collect::<Vec<_>>(), mapping);
                    // Parquet cannot hold an empty struct
                    if children.is_empty() {
                        return None;
                    }
                    ArrowType::Struct(children)
                }
                _ => ArrowType::Int64,
            };
            Some(Field::new(file_name(f, mapping), data_type, true))
        })
        .collect()
}

/// One indexed leaf column.
#[derive(Debug, Clone)]
struct Leaf {
    /// Child indices from the data columns down to the leaf.
    path: Vec<usize>,
    /// Names in the statistics (physical names under column mapping).
    keys: Vec<String>,
    kind: Kind,
}

/// The indexed leaves of a table's data columns.
#[derive(Debug, Clone)]
pub(crate) struct StatsPlan {
    leaves: Vec<Leaf>,
}

impl StatsPlan {
    /// The plan for data columns `fields` (partition columns removed).
    pub(crate) fn new(
        fields: &[StructField],
        mapping: ColumnMapping,
        config: &StatsColumns,
    ) -> Self {
        let mut leaves = Vec::new();
        let mut walk = Walk {
            mapping,
            out: &mut leaves,
        };
        match config {
            StatsColumns::AllLeaves => {
                walk.leaves(fields.iter().enumerate(), &[], &[], &mut { usize::MAX })
            }
            StatsColumns::FirstLeaves(n) => {
                walk.leaves(fields.iter().enumerate(), &[], &[], &mut n.clone())
            }
            StatsColumns::Columns(columns) => walk.select(fields, &[], &[], columns),
        }
        StatsPlan { leaves }
    }
}

struct Walk<'a> {
    mapping: ColumnMapping,
    out: &'a mut Vec<Leaf>,
}

impl Walk<'_> {
    fn child(
        &self,
        path: &[usize],
        keys: &[String],
        i: usize,
        f: &StructField,
    ) -> (Vec<usize>, Vec<String>) {
        let mut path = path.to_vec();
        path.push(i);
        let mut keys = keys.to_vec();
        keys.push(file_name(f, self.mapping).to_string());
        (path, keys)
    }

    /// Leaves of `fields` (with their indices), depth first, while `budget` lasts.
    fn leaves<'f>(
        &mut self,
        fields: impl IntoIterator<Item = (usize, &'f StructField)>,
        path: &[usize],
        keys: &[String],
        budget: &mut usize,
    ) {
        for (i, f) in fields {
            if *budget == 0 {
                return;
            }
            let (path, keys) = self.child(path, keys, i, f);
            match &f.data_type {
                DataType::Struct(s) => {
                    self.leaves(s.fields.iter().enumerate(), &path, &keys, budget)
                }
                other => {
                    self.out.push(Leaf {
                        path,
                        keys,
                        kind: kind_of(other),
                    });
                    *budget -= 1;
                }
            }
        }
    }

    /// Leaves of the named columns (lowercased paths), in schema order.
    fn select(
        &mut self,
        fields: &[StructField],
        path: &[usize],
        keys: &[String],
        wanted: &[Vec<String>],
    ) {
        for (i, f) in fields.iter().enumerate() {
            let name = f.name.to_lowercase();
            let tails: Vec<Vec<String>> = wanted
                .iter()
                .filter(|w| w.first() == Some(&name))
                .map(|w| w[1..].to_vec())
                .collect();
            if tails.is_empty() {
                continue;
            }
            if tails.iter().any(Vec::is_empty) {
                self.leaves([(i, f)], path, keys, &mut { usize::MAX });
                continue;
            }
            if let DataType::Struct(s) = &f.data_type {
                let (path, keys) = self.child(path, keys, i, f);
                self.select(&s.fields, &path, &keys, &tails);
            }
        }
    }
}

/// A min or max seen so far.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Int(i64),
    Float(f64),
    Decimal(i128),
    Str(String),
}

impl Bound {
    fn less_than(&self, other: &Bound) -> bool {
        match (self, other) {
            (Bound::Int(a), Bound::Int(b)) => a < b,
            (Bound::Float(a), Bound::Float(b)) => a < b,
            (Bound::Decimal(a), Bound::Decimal(b)) => a < b,
            (Bound::Str(a), Bound::Str(b)) => a < b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct LeafStats {
    nulls: u64,
    min: Option<Bound>,
    max: Option<Bound>,
    /// Whether a NaN was seen (floats).
    nan: bool,
}

impl LeafStats {
    fn merge_min(&mut self, value: Bound) {
        if self.min.as_ref().is_none_or(|m| value.less_than(m)) {
            self.min = Some(value);
        }
    }

    fn merge_max(&mut self, value: Bound) {
        if self.max.as_ref().is_none_or(|m| m.less_than(&value)) {
            self.max = Some(value);
        }
    }
}

/// Statistics of one file being written.
#[derive(Debug, Clone)]
pub(crate) struct FileStats {
    rows: u64,
    leaves: Vec<LeafStats>,
}

impl FileStats {
    /// Empty statistics for a file of this plan.
    pub(crate) fn new(plan: &StatsPlan) -> Self {
        FileStats {
            rows: 0,
            leaves: vec![LeafStats::default(); plan.leaves.len()],
        }
    }

    /// Adds a batch of `rows` rows: the data columns in the logical Arrow schema.
    pub(crate) fn update(
        &mut self,
        plan: &StatsPlan,
        columns: &[ArrayRef],
        rows: usize,
    ) -> Result<(), String> {
        self.rows += rows as u64;
        for (leaf, stats) in plan.leaves.iter().zip(self.leaves.iter_mut()) {
            let (array, nulls) = resolve(columns, &leaf.path)
                .ok_or_else(|| format!("no column at {}", leaf.keys.join(".")))?;
            let null_count = nulls.as_ref().map_or(0, NullBuffer::null_count);
            stats.nulls += null_count as u64;
            if leaf.kind == Kind::NullCountOnly || null_count == array.len() {
                continue;
            }
            let array = if leaf.path.len() > 1 {
                with_nulls(&array, nulls).map_err(|e| e.to_string())?
            } else {
                array
            };
            update_bounds(stats, leaf.kind, &array)
                .ok_or_else(|| format!("unexpected Arrow type {}", array.data_type()))?;
        }
        Ok(())
    }

    /// The JSON text of `add.stats`.
    pub(crate) fn to_json(&self, plan: &StatsPlan) -> String {
        let mut out = format!("{{\"numRecords\":{}", self.rows);
        if !plan.leaves.is_empty() {
            let mut mins = Obj::default();
            let mut maxs = Obj::default();
            let mut nulls = Obj::default();
            for (leaf, stats) in plan.leaves.iter().zip(&self.leaves) {
                nulls.insert(&leaf.keys, stats.nulls.to_string());
                if let Some(v) = stats.min.as_ref().and_then(|b| min_json(leaf.kind, b)) {
                    mins.insert(&leaf.keys, v);
                }
                if !stats.nan
                    && let Some(v) = stats.max.as_ref().and_then(|b| max_json(leaf.kind, b))
                {
                    maxs.insert(&leaf.keys, v);
                }
            }
            for (name, obj) in [
                ("minValues", mins),
                ("maxValues", maxs),
                ("nullCount", nulls),
            ] {
                out.push_str(&format!(",\"{name}\":"));
                obj.render(&mut out);
            }
        }
        out.push('}');
        out
    }
}

/// The statistics of a file computed from its rows, as the writer computes
/// them while writing: for a file written elsewhere, or whose statistics
/// are missing or wrong.
#[derive(Debug, Clone)]
pub struct StatsCollector {
    plan: StatsPlan,
    stats: FileStats,
}

impl StatsCollector {
    /// Statistics of `columns` of the data columns `fields` (the table's
    /// schema without its partition columns), keyed by physical names
    /// under column mapping.
    pub fn new(fields: &[StructField], mapping: ColumnMapping, columns: &StatsColumns) -> Self {
        let plan = StatsPlan::new(fields, mapping, columns);
        let stats = FileStats::new(&plan);
        StatsCollector { plan, stats }
    }

    /// Adds the rows of `batch`: the data columns, in order, in the table's
    /// logical Arrow types. The error says which column did not fit.
    pub fn update(&mut self, batch: &arrow::array::RecordBatch) -> Result<(), String> {
        self.stats
            .update(&self.plan, batch.columns(), batch.num_rows())
    }

    /// The JSON text of `add.stats` for the rows added so far.
    pub fn to_json(&self) -> String {
        self.stats.to_json(&self.plan)
    }
}

/// The leaf at `path` and its nulls, a row being null when the leaf or any
/// struct above it is.
fn resolve(columns: &[ArrayRef], path: &[usize]) -> Option<(ArrayRef, Option<NullBuffer>)> {
    let (first, rest) = path.split_first()?;
    let mut array = columns.get(*first)?.clone();
    let mut nulls = array.logical_nulls();
    for i in rest {
        let child = array.as_struct_opt()?.columns().get(*i)?.clone();
        nulls = NullBuffer::union(nulls.as_ref(), child.logical_nulls().as_ref());
        array = child;
    }
    Some((array, nulls))
}

/// The array with these nulls (those of its parents included).
fn with_nulls(
    array: &ArrayRef,
    nulls: Option<NullBuffer>,
) -> Result<ArrayRef, arrow::error::ArrowError> {
    let data: ArrayData = array.to_data().into_builder().nulls(nulls).build()?;
    Ok(make_array(data))
}

fn numeric_bounds<T: ArrowNumericType>(
    array: &dyn Array,
) -> Option<Option<(T::Native, T::Native)>> {
    let a = array.as_primitive_opt::<T>()?;
    Some(min(a).zip(max(a)))
}

/// Merges the bounds of one (non-empty) batch; `None` when the array does
/// not have the type of its kind.
fn update_bounds(stats: &mut LeafStats, kind: Kind, array: &ArrayRef) -> Option<()> {
    let ints = match (kind, array.data_type()) {
        (Kind::Int, ArrowType::Int8) => {
            numeric_bounds::<Int8Type>(array)?.map(|(a, b)| (i64::from(a), i64::from(b)))
        }
        (Kind::Int, ArrowType::Int16) => {
            numeric_bounds::<Int16Type>(array)?.map(|(a, b)| (i64::from(a), i64::from(b)))
        }
        (Kind::Int, ArrowType::Int32) => {
            numeric_bounds::<Int32Type>(array)?.map(|(a, b)| (i64::from(a), i64::from(b)))
        }
        (Kind::Int, ArrowType::Int64) => numeric_bounds::<Int64Type>(array)?,
        (Kind::Date, _) => {
            numeric_bounds::<Date32Type>(array)?.map(|(a, b)| (i64::from(a), i64::from(b)))
        }
        (Kind::Timestamp | Kind::TimestampNtz, _) => {
            numeric_bounds::<TimestampMicrosecondType>(array)?
        }
        (Kind::Float32, _) => {
            let values = array.as_primitive_opt::<Float32Type>()?;
            float_bounds(stats, values.iter().flatten().map(f64::from));
            return Some(());
        }
        (Kind::Float64, _) => {
            let values = array.as_primitive_opt::<Float64Type>()?;
            float_bounds(stats, values.iter().flatten());
            return Some(());
        }
        (Kind::Decimal(_), _) => {
            if let Some((lo, hi)) = numeric_bounds::<Decimal128Type>(array)? {
                stats.merge_min(Bound::Decimal(lo));
                stats.merge_max(Bound::Decimal(hi));
            }
            return Some(());
        }
        (Kind::String, _) => {
            let strings = array.as_string_opt::<i32>()?;
            if let Some(lo) = min_string(strings) {
                // prefixes keep the order, so the min of prefixes is the prefix of the min
                stats.merge_min(Bound::Str(truncate_min(lo).to_string()));
            }
            if let Some(hi) = max_string(strings) {
                stats.merge_max(Bound::Str(hi.to_string()));
            }
            return Some(());
        }
        (Kind::Int, _) | (Kind::NullCountOnly, _) => return None,
    };
    if let Some((lo, hi)) = ints {
        stats.merge_min(Bound::Int(lo));
        stats.merge_max(Bound::Int(hi));
    }
    Some(())
}

/// Bounds of the non-NaN values; NaN only sets the flag.
fn float_bounds(stats: &mut LeafStats, values: impl Iterator<Item = f64>) {
    let mut lo: Option<f64> = None;
    let mut hi: Option<f64> = None;
    for v in values {
        if v.is_nan() {
            stats.nan = true;
            continue;
        }
        if lo.is_none_or(|l| v < l) {
            lo = Some(v);
        }
        if hi.is_none_or(|h| v > h) {
            hi = Some(v);
        }
    }
    if let Some(lo) = lo {
        stats.merge_min(Bound::Float(lo));
    }
    if let Some(hi) = hi {
        stats.merge_max(Bound::Float(hi));
    }
}

/// The first [`STRING_PREFIX_LENGTH`] characters.
pub(crate) fn truncate_min(s: &str) -> &str {
    match s.char_indices().nth(STRING_PREFIX_LENGTH) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A string `>=` `s` of about [`STRING_PREFIX_LENGTH`] characters: `s` itself
/// when short enough, else a prefix followed by U+FFFD, the prefix extended
/// over characters `>=` U+FFFD; `None` when that takes more than twice the
/// prefix length.
pub(crate) fn truncate_max(s: &str) -> Option<String> {
    for (count, (i, c)) in s.char_indices().enumerate() {
        if count < STRING_PREFIX_LENGTH {
            continue;
        }
        if c < TIE_BREAKER {
            return Some(format!("{}{TIE_BREAKER}", &s[..i]));
        }
        if count >= 2 * STRING_PREFIX_LENGTH {
            return None;
        }
    }
    Some(s.to_string())
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn float_json(kind: Kind, v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    Some(if kind == Kind::Float32 {
        format!("{:?}", v as f32)
    } else {
        format!("{v:?}")
    })
}

/// Milliseconds, rounded down, as microseconds.
fn truncate_to_millis(micros: i64) -> i64 {
    micros.div_euclid(1000) * 1000
}

fn common_json(kind: Kind, bound: &Bound) -> Option<String> {
    match (kind, bound) {
        (Kind::Int, Bound::Int(v)) => Some(v.to_string()),
        (Kind::Date, Bound::Int(v)) => {
            format_date(i32::try_from(*v).ok()?).map(|d| json_string(&d))
        }
        (Kind::Timestamp, Bound::Int(v)) => {
            format_micros(truncate_to_millis(*v), "%Y-%m-%dT%H:%M:%S%.3fZ").map(|t| json_string(&t))
        }
        (Kind::TimestampNtz, Bound::Int(v)) => {
            format_micros(truncate_to_millis(*v), "%Y-%m-%dT%H:%M:%S%.3f").map(|t| json_string(&t))
        }
        (Kind::Float32 | Kind::Float64, Bound::Float(v)) => float_json(kind, *v),
        (Kind::Decimal(scale), Bound::Decimal(v)) => Some(format_decimal(*v, scale)),
        _ => None,
    }
}

fn min_json(kind: Kind, bound: &Bound) -> Option<String> {
    match bound {
        Bound::Str(s) => Some(json_string(truncate_min(s))),
        other => common_json(kind, other),
    }
}

fn max_json(kind: Kind, bound: &Bound) -> Option<String> {
    match bound {
        Bound::Str(s) => truncate_max(s).map(|t| json_string(&t)),
        other => common_json(kind, other),
    }
}

/// A JSON object under construction, keys in insertion order.
#[derive(Debug, Default)]
struct Obj(Vec<(String, Node)>);

#[derive(Debug)]
enum Node {
    /// JSON text of a value.
    Value(String),
    Obj(Obj),
}

impl Obj {
    fn insert(&mut self, keys: &[String], value: String) {
        let Some((last, parents)) = keys.split_last() else {
            return;
        };
        let mut obj = self;
        for key in parents {
            let pos = match obj.0.iter().position(|(k, _)| k == key) {
                Some(pos) => pos,
                None => {
                    obj.0.push((key.clone(), Node::Obj(Obj::default())));
                    obj.0.len() - 1
                }
            };
            match &mut obj.0[pos].1 {
                Node::Obj(child) => obj = child,
                // a leaf and a struct of the same name cannot both exist
                Node::Value(_) => return,
            }
        }
        obj.0.push((last.clone(), Node::Value(value)));
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, node)| match node {
            Node::Value(_) => false,
            Node::Obj(o) => o.is_empty(),
        })
    }

    fn render(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        for (key, node) in &self.0 {
            if let Node::Obj(o) = node
                && o.is_empty()
            {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&json_string(key));
            out.push(':');
            match node {
                Node::Value(v) => out.push_str(v),
                Node::Obj(o) => o.render(out),
            }
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_strings() {
        let short = "abc";
        assert_eq!(truncate_min(short), "abc");
        assert_eq!(truncate_max(short).as_deref(), Some("abc"));
        let exact = "a".repeat(32);
        assert_eq!(truncate_max(&exact).as_deref(), Some(exact.as_str()));
        let long = format!("{}bcd", "a".repeat(32));
        assert_eq!(truncate_min(&long), "a".repeat(32));
        let max = truncate_max(&long).unwrap();
        assert_eq!(max, format!("{}\u{FFFD}", "a".repeat(32)));
        assert!(max.as_str() >= long.as_str());
        // characters >= the tie-breaker are kept in the prefix
        let emoji = format!("{}\u{1F600}\u{FFFF}z", "é".repeat(32));
        let max = truncate_max(&emoji).unwrap();
        assert_eq!(max, format!("{}\u{1F600}\u{FFFF}\u{FFFD}", "é".repeat(32)));
        assert!(max.as_str() >= emoji.as_str());
        let hopeless = "\u{1F600}".repeat(80);
        assert_eq!(truncate_max(&hopeless), None);
        assert_eq!(truncate_min(&hopeless).chars().count(), 32);
    }

    #[test]
    fn plans_first_leaves_and_named_columns() {
        use delta_schema::StructType;
        let inner = StructType::new([
            StructField::new("x", DataType::INTEGER, true),
            StructField::new("y", DataType::STRING, true),
        ]);
        let fields = vec![
            StructField::new("a", DataType::LONG, true),
            StructField::new("s", inner, true),
            StructField::new("b", DataType::BOOLEAN, true),
        ];
        let keys = |plan: &StatsPlan| -> Vec<(Vec<usize>, String)> {
            plan.leaves
                .iter()
                .map(|l| (l.path.clone(), l.keys.join(".")))
                .collect()
        };
        let plan = StatsPlan::new(&fields, ColumnMapping::None, &StatsColumns::FirstLeaves(2));
        assert_eq!(
            keys(&plan),
            vec![(vec![0], "a".into()), (vec![1, 0], "s.x".into())]
        );
        let plan = StatsPlan::new(&fields, ColumnMapping::None, &StatsColumns::AllLeaves);
        assert_eq!(plan.leaves.len(), 4);
        let named = StatsColumns::Columns(vec![vec!["b".into()], vec!["s".into()]]);
        let plan = StatsPlan::new(&fields, ColumnMapping::None, &named);
        assert_eq!(
            keys(&plan),
            vec![
                (vec![1, 0], "s.x".into()),
                (vec![1, 1], "s.y".into()),
                (vec![2], "b".into())
            ]
        );
        let nested = StatsColumns::Columns(vec![vec!["s".into(), "y".into()], vec!["zz".into()]]);
        let plan = StatsPlan::new(&fields, ColumnMapping::None, &nested);
        assert_eq!(keys(&plan), vec![(vec![1, 1], "s.y".into())]);
    }
}
