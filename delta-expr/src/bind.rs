//! Typing an [`Expr`] against a table schema, before any data is read:
//! names resolved (case-insensitively, as Delta compares them), literals
//! given the type of what they meet, implicit widenings made explicit.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::compute::{CastOptions, cast_with_options};
use delta_schema::{DataType, PrimitiveType, StructType};

use crate::ExprError;
use crate::expr::{ArithOp, CompareOp, Expr, Function, Literal};

mod columns;
use columns::resolve;

/// An expression typed against a schema; evaluate it with
/// [`Bound::evaluate`](crate::Bound::evaluate).
#[derive(Debug, Clone)]
pub struct Bound {
    pub(crate) node: Node,
    pub(crate) data_type: DataType,
    /// The source expression, for messages.
    pub(crate) text: Arc<str>,
}

/// The typed tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A column by its path of names, as the schema spells them.
    Column(Vec<String>),
    /// One value, in the Arrow type of the node's type (null: a null array).
    Literal(ArrayRef),
    /// A conversion to the node's type.
    Cast(Box<Bound>),
    Not(Box<Bound>),
    And(Box<Bound>, Box<Bound>),
    Or(Box<Bound>, Box<Bound>),
    Compare(CompareOp, Box<Bound>, Box<Bound>),
    Arith(ArithOp, Box<Bound>, Box<Bound>),
    Negate(Box<Bound>),
    IsNull(Box<Bound>, bool),
    /// operand, pattern, negated, case-insensitive
    Like(Box<Bound>, Box<Bound>, bool, bool),
    /// (condition, value) pairs and the value otherwise (null when absent)
    Case(Vec<(Bound, Bound)>, Option<Box<Bound>>),
    /// A scalar function and its (typed) arguments.
    Call(Function, Vec<Bound>),
}

impl Bound {
    /// The type of the values it evaluates to.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// The columns it reads: paths as the schema spells them, each once,
    /// in the order they first appear.
    pub fn columns(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        self.visit_columns(&mut |path| {
            if !out.iter().any(|p| p == path) {
                out.push(path.to_vec());
            }
        });
        out
    }

    fn visit_columns(&self, f: &mut dyn FnMut(&[String])) {
        match &self.node {
            Node::Column(path) => f(path),
            Node::Literal(_) => {}
            Node::Cast(e) | Node::Not(e) | Node::Negate(e) | Node::IsNull(e, _) => {
                e.visit_columns(f);
            }
            Node::Like(a, b, ..) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
            Node::Call(_, args) => {
                for a in args {
                    a.visit_columns(f);
                }
            }
            Node::Case(branches, otherwise) => {
                for (c, v) in branches {
                    c.visit_columns(f);
                    v.visit_columns(f);
                }
                if let Some(e) = otherwise {
                    e.visit_columns(f);
                }
            }
            Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) | Node::Arith(_, a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
        }
    }
}

/// Types `expr` against `schema`.
pub fn bind(expr: &Expr, schema: &StructType) -> Result<Bound, ExprError> {
    Binder {
        schema,
        text: Arc::from(expr.to_string()),
    }
    .bind(expr)
}

/// Types a predicate: like [`bind`], and the result must be boolean.
pub fn bind_predicate(expr: &Expr, schema: &StructType) -> Result<Bound, ExprError> {
    let bound = bind(expr, schema)?;
    match bound.data_type {
        DataType::Primitive(PrimitiveType::Boolean | PrimitiveType::Void) => Ok(bound),
        ref other => Err(ExprError::TypeMismatch {
            expr: expr.to_string(),
            reason: format!("a condition must be boolean, this is {}", type_name(other)),
        }),
    }
}

fn type_name(t: &DataType) -> String {
    match t {
        DataType::Primitive(p) => p.to_string(),
        DataType::Array(_) => "array".to_string(),
        DataType::Struct(_) => "struct".to_string(),
        DataType::Map(_) => "map".to_string(),
    }
}

/// What an operand is before coercion: typed, or a literal whose type the
/// other side decides.
enum Operand {
    Typed(Bound),
    Open(Literal),
}

struct Binder<'a> {
    schema: &'a StructType,
    text: Arc<str>,
}

const BOOLEAN: DataType = DataType::BOOLEAN;

impl Binder<'_> {
    fn node(&self, node: Node, data_type: DataType) -> Bound {
        Bound {
            node,
            data_type,
            text: Arc::clone(&self.text),
        }
    }

    fn mismatch(&self, reason: String) -> ExprError {
        ExprError::TypeMismatch {
            expr: self.text.to_string(),
            reason,
        }
    }

    fn bind(&self, expr: &Expr) -> Result<Bound, ExprError> {
        match self.operand(expr)? {
            Operand::Typed(b) => Ok(b),
            Operand::Open(l) => self.literal_alone(&l),
        }
    }

    fn operand(&self, expr: &Expr) -> Result<Operand, ExprError> {
        Ok(Operand::Typed(match expr {
            Expr::Literal(l @ (Literal::Number(_) | Literal::String(_) | Literal::Null)) => {
                return Ok(Operand::Open(l.clone()));
            }
            Expr::Literal(l) => self.literal_alone(l)?,
            Expr::Column(path) => {
                let (names, data_type) = resolve(self.schema, path)?;
                self.node(Node::Column(names), data_type)
            }
            Expr::Not(e) => {
                let e = self.boolean(e)?;
                self.node(Node::Not(Box::new(e)), BOOLEAN)
            }
            Expr::And(a, b) => {
                let (a, b) = (self.boolean(a)?, self.boolean(b)?);
                self.node(Node::And(Box::new(a), Box::new(b)), BOOLEAN)
            }
            Expr::Or(a, b) => {
                let (a, b) = (self.boolean(a)?, self.boolean(b)?);
                self.node(Node::Or(Box::new(a), Box::new(b)), BOOLEAN)
            }
            Expr::Compare(op, a, b) => self.compare(*op, a, b)?,
            Expr::Arith(op, a, b) => self.arith(*op, a, b)?,
            Expr::Negate(e) => {
                let e = self.bind(e)?;
                if !is_numeric(&e.data_type) {
                    return Err(
                        self.mismatch(format!("cannot negate a {}", type_name(&e.data_type)))
                    );
                }
                let t = e.data_type.clone();
                self.node(Node::Negate(Box::new(e)), t)
            }
            Expr::IsNull { expr, negated } => {
                let e = self.bind(expr)?;
                self.node(Node::IsNull(Box::new(e), *negated), BOOLEAN)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                // x IN (a, b) is (x = a) OR (x = b), SQL's three-valued logic included
                let mut tests = list
                    .iter()
                    .map(|item| self.compare(CompareOp::Eq, expr, item));
                let first = tests.next().ok_or_else(|| ExprError::Parse {
                    text: self.text.to_string(),
                    reason: "IN needs at least one value".to_string(),
                })??;
                let any = tests.try_fold(first, |acc, t| {
                    Ok::<_, ExprError>(self.node(Node::Or(Box::new(acc), Box::new(t?)), BOOLEAN))
                })?;
                self.negated(any, *negated)
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                let string = |b: Bound| match b.data_type {
                    DataType::Primitive(PrimitiveType::String | PrimitiveType::Void) => {
                        Ok(self.cast(b, &DataType::STRING))
                    }
                    ref other => {
                        Err(self.mismatch(format!("LIKE needs strings, not {}", type_name(other))))
                    }
                };
                let as_string = |e: &Expr| match self.operand(e)? {
                    Operand::Typed(b) => string(b),
                    Operand::Open(l) => string(self.literal_for(&l, &DataType::STRING)?),
                };
                let (a, b) = (as_string(expr)?, as_string(pattern)?);
                self.node(
                    Node::Like(Box::new(a), Box::new(b), *negated, *case_insensitive),
                    BOOLEAN,
                )
            }
            Expr::Cast { expr, to } => match self.operand(expr)? {
                Operand::Open(l) => self.typed_literal(&l, to)?,
                Operand::Typed(b) if &b.data_type == to => b,
                Operand::Typed(b) => {
                    if !matches!(
                        (&b.data_type, to),
                        (DataType::Primitive(_), DataType::Primitive(_))
                    ) {
                        return Err(ExprError::Unsupported {
                            what: format!(
                                "CAST from {} to {}",
                                type_name(&b.data_type),
                                type_name(to)
                            ),
                        });
                    }
                    self.node(Node::Cast(Box::new(b)), to.clone())
                }
            },
            Expr::Case {
                branches,
                otherwise,
            } => {
                let conditions = branches
                    .iter()
                    .map(|(c, _)| self.boolean(c))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut values: Vec<&Expr> = branches.iter().map(|(_, v)| v).collect();
                if let Some(e) = otherwise {
                    values.push(e);
                }
                let mut values = self.unify(&values)?;
                let t = values
                    .first()
                    .map_or(DataType::Primitive(PrimitiveType::Void), |v| {
                        v.data_type.clone()
                    });
                let otherwise = match otherwise {
                    Some(_) => values.pop().map(Box::new),
                    None => None,
                };
                self.node(
                    Node::Case(conditions.into_iter().zip(values).collect(), otherwise),
                    t,
                )
            }
            Expr::Call(function, args) => self.call(*function, args)?,
            Expr::Coalesce(args) => {
                // the first non-null: CASE WHEN a IS NOT NULL THEN a ... ELSE last END
                let refs: Vec<&Expr> = args.iter().collect();
                let mut values = self.unify(&refs)?;
                let last = values.pop().ok_or_else(|| ExprError::Parse {
                    text: self.text.to_string(),
                    reason: "COALESCE needs at least one argument".to_string(),
                })?;
                let t = last.data_type.clone();
                let branches = values
                    .into_iter()
                    .map(|v| {
                        let test = self.node(Node::IsNull(Box::new(v.clone()), true), BOOLEAN);
                        (test, v)
                    })
                    .collect();
                self.node(Node::Case(branches, Some(Box::new(last))), t)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let above = self.compare(CompareOp::GtEq, expr, low)?;
                let below = self.compare(CompareOp::LtEq, expr, high)?;
                let both = self.node(Node::And(Box::new(above), Box::new(below)), BOOLEAN);
                self.negated(both, *negated)
            }
        }))
    }

    fn negated(&self, b: Bound, negated: bool) -> Bound {
        if negated {
            self.node(Node::Not(Box::new(b)), BOOLEAN)
        } else {
            b
        }
    }

    fn boolean(&self, e: &Expr) -> Result<Bound, ExprError> {
        let b = match self.operand(e)? {
            Operand::Typed(b) => b,
            Operand::Open(Literal::Null) => self.typed_literal(&Literal::Null, &BOOLEAN)?,
            Operand::Open(l) => {
                return Err(self.mismatch(format!("{l} is not a boolean")));
            }
        };
        match b.data_type {
            DataType::Primitive(PrimitiveType::Boolean) => Ok(b),
            ref other => Err(self.mismatch(format!("'{e}' is {}, not boolean", type_name(other)))),
        }
    }

    /// Both operands, brought to one type.
    fn pair(&self, a: &Expr, b: &Expr) -> Result<(Bound, Bound), ExprError> {
        match (self.operand(a)?, self.operand(b)?) {
            (Operand::Typed(a), Operand::Typed(b)) => {
                let t = self.common(&a.data_type, &b.data_type)?;
                Ok((self.cast(a, &t), self.cast(b, &t)))
            }
            (Operand::Typed(a), Operand::Open(l)) => {
                let b = self.literal_for(&l, &a.data_type)?;
                let t = self.common(&a.data_type, &b.data_type)?;
                Ok((self.cast(a, &t), self.cast(b, &t)))
            }
            (Operand::Open(l), Operand::Typed(b)) => {
                let a = self.literal_for(&l, &b.data_type)?;
                let t = self.common(&a.data_type, &b.data_type)?;
                Ok((self.cast(a, &t), self.cast(b, &t)))
            }
            (Operand::Open(x), Operand::Open(y)) => {
                let a = self.literal_alone(&x)?;
                let b = self.literal_for(&y, &a.data_type)?;
                let t = self.common(&a.data_type, &b.data_type)?;
                Ok((self.cast(a, &t), self.cast(b, &t)))
            }
        }
    }

    /// A function call with its arguments typed as it takes them.
    fn call(&self, function: Function, args: &[Expr]) -> Result<Bound, ExprError> {
        use PrimitiveType as P;
        let arg = |i: usize, want: &DataType| -> Result<Bound, ExprError> {
            let e = args.get(i).ok_or_else(|| ExprError::Parse {
                text: self.text.to_string(),
                reason: format!("{function:?} needs more arguments"),
            })?;
            let b = match self.operand(e)? {
                Operand::Typed(b) => b,
                Operand::Open(l) => self.literal_for(&l, want)?,
            };
            Ok(b)
        };
        let wrong = |b: &Bound, what: &str| {
            self.mismatch(format!(
                "{} takes {what}, not {}",
                format!("{function:?}").to_lowercase(),
                type_name(&b.data_type)
            ))
        };
        let (args, t) = match function {
            Function::Lower | Function::Upper | Function::Length => {
                let s = arg(0, &DataType::STRING)?;
                if !matches!(s.data_type, DataType::Primitive(P::String | P::Void)) {
                    return Err(wrong(&s, "a string"));
                }
                let s = self.cast(s, &DataType::STRING);
                let t = match function {
                    Function::Length => DataType::INTEGER,
                    _ => DataType::STRING,
                };
                (vec![s], t)
            }
            Function::Substring => {
                let s = arg(0, &DataType::STRING)?;
                if !matches!(s.data_type, DataType::Primitive(P::String | P::Void)) {
                    return Err(wrong(&s, "a string"));
                }
                let mut bound = vec![self.cast(s, &DataType::STRING)];
                for i in 1..args.len() {
                    let n = arg(i, &DataType::LONG)?;
                    if !matches!(
                        n.data_type,
                        DataType::Primitive(P::Byte | P::Short | P::Integer | P::Long | P::Void)
                    ) {
                        return Err(wrong(&n, "integer positions and lengths"));
                    }
                    bound.push(self.cast(n, &DataType::LONG));
                }
                (bound, DataType::STRING)
            }
            Function::Abs => {
                // a literal keeps its own type: abs(-5) is an integer
                let n = match args.first() {
                    Some(e) => self.bind(e)?,
                    None => arg(0, &DataType::DOUBLE)?,
                };
                if !is_numeric(&n.data_type) {
                    return Err(wrong(&n, "a number"));
                }
                let t = n.data_type.clone();
                (vec![n], t)
            }
            Function::Year | Function::Month | Function::Day => {
                let d = arg(0, &DataType::DATE)?;
                if !matches!(
                    d.data_type,
                    DataType::Primitive(P::Date | P::Timestamp | P::TimestampNtz)
                ) {
                    return Err(wrong(&d, "a date or timestamp"));
                }
                (vec![d], DataType::INTEGER)
            }
        };
        Ok(self.node(Node::Call(function, args), t))
    }

    /// Several operands brought to one type: that of the typed ones (open
    /// literals take it), or the first literal's.
    fn unify(&self, exprs: &[&Expr]) -> Result<Vec<Bound>, ExprError> {
        let operands = exprs
            .iter()
            .map(|e| self.operand(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut common: Option<DataType> = None;
        for o in &operands {
            if let Operand::Typed(b) = o {
                common = Some(match &common {
                    None => b.data_type.clone(),
                    Some(t) => self.common(t, &b.data_type)?,
                });
            }
        }
        let mut bound = Vec::with_capacity(operands.len());
        for o in operands {
            let b = match (o, &common) {
                (Operand::Typed(b), _) => b,
                (Operand::Open(l), Some(t)) => self.literal_for(&l, t)?,
                (Operand::Open(l), None) => {
                    let b = self.literal_alone(&l)?;
                    common = Some(b.data_type.clone());
                    b
                }
            };
            bound.push(b);
        }
        // literals of another type than the rest widen everything once more
        let t = bound.iter().try_fold(None::<DataType>, |acc, b| {
            Ok::<_, ExprError>(Some(match acc {
                None => b.data_type.clone(),
                Some(t) => self.common(&t, &b.data_type)?,
            }))
        })?;
        Ok(match t {
            Some(t) => bound.into_iter().map(|b| self.cast(b, &t)).collect(),
            None => bound,
        })
    }

    fn compare(&self, op: CompareOp, a: &Expr, b: &Expr) -> Result<Bound, ExprError> {
        let (a, b) = self.pair(a, b)?;
        if !matches!(a.data_type, DataType::Primitive(_))
            || matches!(
                a.data_type,
                DataType::Primitive(PrimitiveType::Variant | PrimitiveType::Binary)
            )
        {
            return Err(ExprError::Unsupported {
                what: format!("comparing {} values", type_name(&a.data_type)),
            });
        }
        Ok(self.node(Node::Compare(op, Box::new(a), Box::new(b)), BOOLEAN))
    }

    fn arith(&self, op: ArithOp, a: &Expr, b: &Expr) -> Result<Bound, ExprError> {
        let (a, b) = self.pair(a, b)?;
        let t = a.data_type.clone();
        if !is_numeric(&t) && !matches!(t, DataType::Primitive(PrimitiveType::Void)) {
            return Err(self.mismatch(format!("arithmetic needs numbers, not {}", type_name(&t))));
        }
        // `/` divides as fractions (7 / 2 is 3.5), as in Spark
        let (a, b, t) = match (op, &t) {
            (ArithOp::Div, DataType::Primitive(PrimitiveType::Decimal { .. })) => {
                return Err(ExprError::Unsupported {
                    what: "dividing decimals".to_string(),
                });
            }
            (ArithOp::Div, _) => (
                self.cast(a, &DataType::DOUBLE),
                self.cast(b, &DataType::DOUBLE),
                DataType::DOUBLE,
            ),
            _ => (a, b, t),
        };
        Ok(self.node(Node::Arith(op, Box::new(a), Box::new(b)), t))
    }

    /// `b` converted to `t` (itself when it has that type).
    fn cast(&self, b: Bound, t: &DataType) -> Bound {
        if &b.data_type == t {
            return b;
        }
        if let Node::Literal(value) = &b.node
            && let Ok(converted) = cast_with_options(value, &t.to_arrow(), &strict())
        {
            return self.node(Node::Literal(converted), t.clone());
        }
        self.node(Node::Cast(Box::new(b)), t.clone())
    }

    /// The type both sides are compared or computed in.
    fn common(&self, a: &DataType, b: &DataType) -> Result<DataType, ExprError> {
        use PrimitiveType as P;
        if a == b {
            return Ok(a.clone());
        }
        let (DataType::Primitive(x), DataType::Primitive(y)) = (a, b) else {
            return Err(self.mismatch(format!(
                "{} and {} do not compare",
                type_name(a),
                type_name(b)
            )));
        };
        let rank = |p: &P| match p {
            P::Byte => Some(1),
            P::Short => Some(2),
            P::Integer => Some(3),
            P::Long => Some(4),
            P::Float => Some(6),
            P::Double => Some(7),
            _ => None,
        };
        Ok(DataType::Primitive(match (x, y) {
            (P::Void, other) | (other, P::Void) => *other,
            (P::Date, P::Timestamp) | (P::Timestamp, P::Date) => P::Timestamp,
            (P::Date, P::TimestampNtz) | (P::TimestampNtz, P::Date) => P::TimestampNtz,
            (
                P::Decimal {
                    precision: p1,
                    scale: s1,
                },
                P::Decimal {
                    precision: p2,
                    scale: s2,
                },
            ) => {
                let scale = (*s1).max(*s2);
                let whole = (p1 - s1).max(p2 - s2);
                P::Decimal {
                    precision: (whole + scale).min(38),
                    scale,
                }
            }
            (P::Decimal { precision, scale }, other) | (other, P::Decimal { precision, scale }) => {
                match rank(other) {
                    // integers fit a decimal with room for their digits
                    Some(r) if r <= 4 => {
                        let digits = [0, 3, 5, 10, 19][r];
                        let whole = (precision - scale).max(digits);
                        P::Decimal {
                            precision: (whole + scale).min(38),
                            scale: *scale,
                        }
                    }
                    Some(_) => P::Double,
                    None => {
                        return Err(self.mismatch(format!(
                            "{} and {} do not compare",
                            type_name(a),
                            type_name(b)
                        )));
                    }
                }
            }
            _ => match (rank(x), rank(y)) {
                (Some(r1), Some(r2)) => {
                    let r = r1.max(r2);
                    // a long next to a float is compared as double
                    let r = if r == 6 && r1.min(r2) >= 4 { 7 } else { r };
                    [
                        P::Byte,
                        P::Byte,
                        P::Short,
                        P::Integer,
                        P::Long,
                        P::Long,
                        P::Float,
                        P::Double,
                    ][r]
                }
                _ => {
                    return Err(self.mismatch(format!(
                        "{} and {} do not compare",
                        type_name(a),
                        type_name(b)
                    )));
                }
            },
        }))
    }

    /// A literal on its own: its natural type.
    fn literal_alone(&self, l: &Literal) -> Result<Bound, ExprError> {
        let t = match l {
            Literal::Null => DataType::Primitive(PrimitiveType::Void),
            Literal::Boolean(_) => BOOLEAN,
            Literal::String(_) => DataType::STRING,
            Literal::Date(_) => DataType::DATE,
            Literal::Timestamp(_) => DataType::TIMESTAMP,
            Literal::Number(n) => natural_number_type(n),
        };
        self.typed_literal(l, &t)
    }

    /// A literal next to an operand of type `t`: of type `t` when it reads
    /// as one exactly, else of its natural type.
    fn literal_for(&self, l: &Literal, t: &DataType) -> Result<Bound, ExprError> {
        match (l, t) {
            (Literal::Null, _) => self.typed_literal(l, t),
            (Literal::Number(_), t) if is_numeric(t) => {
                self.typed_literal(l, t).or_else(|_| self.literal_alone(l))
            }
            // strings next to dates, timestamps and numbers read as those
            (Literal::String(_), DataType::Primitive(p)) if !matches!(p, PrimitiveType::Void) => {
                self.typed_literal(l, t)
            }
            _ => self.literal_alone(l),
        }
    }

    fn typed_literal(&self, l: &Literal, t: &DataType) -> Result<Bound, ExprError> {
        let arrow_type = t.to_arrow();
        let value: ArrayRef = match l {
            Literal::Null => arrow::array::new_null_array(&arrow_type, 1),
            Literal::Boolean(b) => Arc::new(arrow::array::BooleanArray::from(vec![*b])),
            Literal::Number(text)
            | Literal::String(text)
            | Literal::Date(text)
            | Literal::Timestamp(text) => {
                let text_array: ArrayRef = Arc::new(StringArray::from(vec![text.as_str()]));
                if matches!(l, Literal::String(_)) && t == &DataType::STRING {
                    text_array
                } else {
                    let converted = cast_with_options(&text_array, &arrow_type, &strict())
                        .ok()
                        .filter(|a| a.null_count() == 0)
                        .ok_or_else(|| self.mismatch(format!("{l} is not a {}", type_name(t))))?;
                    if is_numeric(t) && !exact_number(text, &converted) {
                        return Err(self.mismatch(format!("{l} is not exactly a {}", type_name(t))));
                    }
                    converted
                }
            }
        };
        let value = match (l, &arrow_type) {
            (Literal::Boolean(_), arrow::datatypes::DataType::Boolean) => value,
            (Literal::Boolean(_), _) => {
                return Err(self.mismatch(format!("{l} is not a {}", type_name(t))));
            }
            _ => value,
        };
        Ok(self.node(Node::Literal(value), t.clone()))
    }
}

/// Conversions that fail instead of giving null.
pub(crate) fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..CastOptions::default()
    }
}

/// Whether a converted number still reads as the text (no rounding of a
/// fraction into an integer, no precision lost into a float).
fn exact_number(text: &str, converted: &ArrayRef) -> bool {
    use arrow::datatypes::DataType as A;
    let Ok(back) = cast_with_options(converted, &A::Float64, &strict()) else {
        return false;
    };
    let (Some(back), Ok(want)) = (
        back.as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .map(|a| a.value(0)),
        text.parse::<f64>(),
    ) else {
        return false;
    };
    match converted.data_type() {
        A::Int8 | A::Int16 | A::Int32 | A::Int64 => !text.contains(['.', 'e', 'E']) || back == want,
        A::Float32 => (back - want).abs() <= want.abs() * f64::from(f32::EPSILON),
        A::Decimal128(_, scale) => {
            !text.contains(['e', 'E'])
                && text.split_once('.').is_none_or(|(_, fraction)| {
                    fraction.len() <= usize::try_from(*scale).unwrap_or(0)
                })
        }
        _ => true,
    }
}

fn natural_number_type(text: &str) -> DataType {
    if !text.contains(['.', 'e', 'E']) {
        if text.parse::<i32>().is_ok() {
            return DataType::INTEGER;
        }
        if text.parse::<i64>().is_ok() {
            return DataType::LONG;
        }
    }
    DataType::DOUBLE
}

fn is_numeric(t: &DataType) -> bool {
    use PrimitiveType as P;
    matches!(
        t,
        DataType::Primitive(
            P::Byte | P::Short | P::Integer | P::Long | P::Float | P::Double | P::Decimal { .. }
        )
    )
}
