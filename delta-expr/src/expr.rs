//! The expression tree, as parsed: names not yet resolved, literals not yet
//! typed. [`crate::bind`] types it against a schema.

use std::fmt;

use delta_schema::DataType;

/// A literal as written; its type is settled when it is bound (a number
/// next to a `short` column is a `short`, a string next to a `date` column
/// is a date).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `TRUE` / `FALSE`.
    Boolean(bool),
    /// A number, as written (`42`, `-1.5`, `1e3`).
    Number(String),
    /// A quoted string.
    String(String),
    /// `DATE 'yyyy-mm-dd'`.
    Date(String),
    /// `TIMESTAMP '...'`.
    Timestamp(String),
}

/// Scalar functions, with Spark's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `lower(s)`.
    Lower,
    /// `upper(s)`.
    Upper,
    /// `length(s)`: characters, not bytes.
    Length,
    /// `substring(s, pos[, len])`: 1-based; a negative position counts from
    /// the end.
    Substring,
    /// `abs(n)`: overflow (of the smallest integer) is an error.
    Abs,
    /// `year(d)` of a date or timestamp.
    Year,
    /// `month(d)`.
    Month,
    /// `day(d)`.
    Day,
}

impl Function {
    /// The function of a name (any case), with its argument counts.
    pub fn named(name: &str) -> Option<(Function, std::ops::RangeInclusive<usize>)> {
        Some(match name.to_ascii_lowercase().as_str() {
            "lower" | "lcase" => (Function::Lower, 1..=1),
            "upper" | "ucase" => (Function::Upper, 1..=1),
            "length" | "char_length" | "character_length" => (Function::Length, 1..=1),
            "substring" | "substr" => (Function::Substring, 2..=3),
            "abs" => (Function::Abs, 1..=1),
            "year" => (Function::Year, 1..=1),
            "month" => (Function::Month, 1..=1),
            "day" | "dayofmonth" => (Function::Day, 1..=1),
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::Length => "length",
            Function::Substring => "substring",
            Function::Abs => "abs",
            Function::Year => "year",
            Function::Month => "month",
            Function::Day => "day",
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>` / `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `<=>`: equal, with `NULL <=> NULL` true.
    NullSafeEq,
}

impl CompareOp {
    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::NotEq => "<>",
            CompareOp::Lt => "<",
            CompareOp::LtEq => "<=",
            CompareOp::Gt => ">",
            CompareOp::GtEq => ">=",
            CompareOp::NullSafeEq => "<=>",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::LtEq => CompareOp::GtEq,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::GtEq => CompareOp::LtEq,
            other => other,
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl ArithOp {
    fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column, or a field of a struct column: its path of names.
    Column(Vec<String>),
    /// A literal.
    Literal(Literal),
    /// `NOT e`.
    Not(Box<Expr>),
    /// `a AND b`.
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a <op> b`.
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    /// `a <op> b`.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `-e`.
    Negate(Box<Expr>),
    /// `e IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `e [NOT] IN (list)`.
    InList {
        /// The operand.
        expr: Box<Expr>,
        /// The values.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `e [NOT] LIKE pattern` (`%` any run, `_` one character, `\\` escapes),
    /// `ILIKE` ignoring case.
    Like {
        /// The operand.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        case_insensitive: bool,
    },
    /// `CAST(e AS type)`: fails on values that do not convert (ANSI).
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// The type to convert to.
        to: DataType,
    },
    /// `CASE WHEN c THEN v ... [ELSE e] END`; each value is computed only
    /// for the rows that take its branch.
    Case {
        /// (condition, value) pairs, first true condition wins.
        branches: Vec<(Expr, Expr)>,
        /// The value when no condition is true (null when absent).
        otherwise: Option<Box<Expr>>,
    },
    /// `COALESCE(a, b, ...)`: the first non-null argument.
    Coalesce(Vec<Expr>),
    /// A scalar function call.
    Call(Function, Vec<Expr>),
    /// `e [NOT] BETWEEN low AND high`.
    Between {
        /// The operand.
        expr: Box<Expr>,
        /// Lower bound, inclusive.
        low: Box<Expr>,
        /// Upper bound, inclusive.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
}

impl Expr {
    /// A column reference from a dotted path (`a.b`).
    pub fn column(path: &str) -> Expr {
        Expr::Column(path.split('.').map(str::to_string).collect())
    }

    /// The expression with each column reference replaced by what `f`
    /// makes of its path (e.g. names qualified, or an error for a name that
    /// is ambiguous).
    pub fn try_map_columns<E>(
        &self,
        f: &mut dyn FnMut(&[String]) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        let mut go = |e: &Expr| e.try_map_columns(f);
        Ok(match self {
            Expr::Column(path) => return f(path),
            Expr::Literal(l) => Expr::Literal(l.clone()),
            Expr::Not(e) => Expr::Not(Box::new(go(e)?)),
            Expr::And(a, b) => Expr::And(Box::new(go(a)?), Box::new(go(b)?)),
            Expr::Or(a, b) => Expr::Or(Box::new(go(a)?), Box::new(go(b)?)),
            Expr::Compare(op, a, b) => Expr::Compare(*op, Box::new(go(a)?), Box::new(go(b)?)),
            Expr::Arith(op, a, b) => Expr::Arith(*op, Box::new(go(a)?), Box::new(go(b)?)),
            Expr::Negate(e) => Expr::Negate(Box::new(go(e)?)),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: Box::new(go(expr)?),
                negated: *negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: Box::new(go(expr)?),
                list: list.iter().map(&mut go).collect::<Result<_, E>>()?,
                negated: *negated,
            },
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: Box::new(go(expr)?),
                pattern: Box::new(go(pattern)?),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Cast { expr, to } => Expr::Cast {
                expr: Box::new(go(expr)?),
                to: to.clone(),
            },
            Expr::Case {
                branches,
                otherwise,
            } => Expr::Case {
                branches: branches
                    .iter()
                    .map(|(c, v)| Ok((go(c)?, go(v)?)))
                    .collect::<Result<_, E>>()?,
                otherwise: otherwise.as_deref().map(&mut go).transpose()?.map(Box::new),
            },
            Expr::Coalesce(args) => {
                Expr::Coalesce(args.iter().map(&mut go).collect::<Result<_, E>>()?)
            }
            Expr::Call(function, args) => Expr::Call(
                *function,
                args.iter().map(&mut go).collect::<Result<_, E>>()?,
            ),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: Box::new(go(expr)?),
                low: Box::new(go(low)?),
                high: Box::new(go(high)?),
                negated: *negated,
            },
        })
    }
}

/// Writes a name, quoted with backticks when it is not a plain identifier.
/// A name as SQL text: bare when it is a plain identifier that reads back
/// as itself, else in backticks (`true`, `null`, `interval`, `case`...
/// would read back as something else, or not at all).
fn write_name(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    // only a keyword can read back as something else; parse just those
    let keyword = sqlparser::keywords::ALL_KEYWORDS
        .binary_search(&name.to_ascii_uppercase().as_str())
        .is_ok();
    let plain = identifier
        && (!keyword
            || matches!(crate::parse(name), Ok(Expr::Column(path)) if path.len() == 1 && path[0] == name));
    if plain {
        f.write_str(name)
    } else {
        write!(f, "`{}`", name.replace('`', "``"))
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Number(n) => f.write_str(n),
            Literal::String(s) => write_string(f, s),
            Literal::Date(s) => {
                f.write_str("DATE ")?;
                write_string(f, s)
            }
            Literal::Timestamp(s) => {
                f.write_str("TIMESTAMP ")?;
                write_string(f, s)
            }
        }
    }
}

impl Expr {
    /// How tightly the expression binds when printed: an operand that binds
    /// less tightly than its operator needs parentheses.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Not(_) => 3,
            Expr::Compare(..)
            | Expr::IsNull { .. }
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. } => 4,
            Expr::Arith(ArithOp::Add | ArithOp::Sub, ..) => 5,
            Expr::Arith(..) => 6,
            Expr::Negate(_) => 7,
            Expr::Column(_)
            | Expr::Literal(_)
            | Expr::Cast { .. }
            | Expr::Case { .. }
            | Expr::Coalesce(_)
            | Expr::Call(..) => 8,
        }
    }
}

/// Writes expressions separated by commas.
fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// Writes `e`, in parentheses when it binds less tightly than `at least`
/// (or as tightly, for the right operand of a left-associative operator).
fn operand(f: &mut fmt::Formatter<'_>, e: &Expr, at_least: u8) -> fmt::Result {
    if e.precedence() < at_least {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// SQL text that parses back to the same tree, with parentheses only where
/// they are needed.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.precedence();
        match self {
            Expr::Column(path) => {
                for (i, name) in path.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write_name(f, name)?;
                }
                Ok(())
            }
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Not(e) => {
                f.write_str("NOT ")?;
                operand(f, e, p)
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                operand(f, a, p)?;
                f.write_str(if matches!(self, Expr::And(..)) {
                    " AND "
                } else {
                    " OR "
                })?;
                operand(f, b, p + 1)
            }
            Expr::Compare(op, a, b) => {
                operand(f, a, p + 1)?;
                write!(f, " {} ", op.symbol())?;
                operand(f, b, p + 1)
            }
            Expr::Arith(op, a, b) => {
                operand(f, a, p)?;
                write!(f, " {} ", op.symbol())?;
                operand(f, b, p + 1)
            }
            Expr::Negate(e) => {
                // `- -3` would read as a comment opener without the space
                f.write_str("-")?;
                match &**e {
                    Expr::Literal(Literal::Number(n)) if n.starts_with('-') => write!(f, "({e})"),
                    _ => operand(f, e, p),
                }
            }
            Expr::IsNull { expr, negated } => {
                operand(f, expr, p + 1)?;
                write!(f, " IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                operand(f, expr, p + 1)?;
                write!(f, " {}IN (", if *negated { "NOT " } else { "" })?;
                write_list(f, list)?;
                f.write_str(")")
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => {
                operand(f, expr, p + 1)?;
                let not = if *negated { "NOT " } else { "" };
                let like = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(f, " {not}{like} ")?;
                operand(f, pattern, p + 1)
            }
            Expr::Cast { expr, to } => write!(f, "CAST({expr} AS {to})"),
            Expr::Case {
                branches,
                otherwise,
            } => {
                f.write_str("CASE")?;
                for (condition, value) in branches {
                    write!(f, " WHEN {condition} THEN {value}")?;
                }
                if let Some(e) = otherwise {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END")
            }
            Expr::Call(function, args) => {
                write!(f, "{}(", function.name())?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Coalesce(args) => {
                f.write_str("COALESCE(")?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                operand(f, expr, p + 1)?;
                write!(f, " {}BETWEEN ", if *negated { "NOT " } else { "" })?;
                operand(f, low, p + 1)?;
                f.write_str(" AND ")?;
                operand(f, high, p + 1)
            }
        }
    }
}
