//! SQL text to an [`Expr`], with the sqlparser crate. Names may be quoted
//! with backticks or double quotes; strings take single quotes.

use delta_schema::{DataType, PrimitiveType};
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Expr as SqlExpr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::ExprError;
use crate::expr::{ArithOp, CompareOp, Expr, Function as ExprFunction, Literal};

/// Parses one SQL expression (`a > 1 AND b IS NOT NULL`).
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let error = |reason: String| ExprError::Parse {
        text: text.to_string(),
        reason,
    };
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(text)
        .map_err(|e| error(e.to_string()))?;
    let parsed = parser.parse_expr().map_err(|e| error(e.to_string()))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(error(format!(
            "unexpected '{}' after the expression",
            next.token
        )));
    }
    convert(&parsed)
}

fn unsupported(what: &str, expr: &SqlExpr) -> ExprError {
    ExprError::Unsupported {
        what: format!("{what} (in '{expr}')"),
    }
}

fn boxed(e: &SqlExpr) -> Result<Box<Expr>, ExprError> {
    convert(e).map(Box::new)
}

fn convert(e: &SqlExpr) -> Result<Expr, ExprError> {
    Ok(match e {
        SqlExpr::Identifier(ident) => Expr::Column(vec![ident.value.clone()]),
        SqlExpr::CompoundIdentifier(idents) => {
            Expr::Column(idents.iter().map(|i| i.value.clone()).collect())
        }
        SqlExpr::Nested(inner) => convert(inner)?,
        SqlExpr::Value(v) => Expr::Literal(literal(&v.value, e)?),
        SqlExpr::TypedString(typed) => {
            let Some(text) = typed.value.value.clone().into_string() else {
                return Err(unsupported("a typed literal without a string", e));
            };
            match typed.data_type {
                SqlType::Date => Expr::Literal(Literal::Date(text)),
                SqlType::Timestamp(..) | SqlType::Datetime(_) => {
                    Expr::Literal(Literal::Timestamp(text))
                }
                ref other => return Err(unsupported(&format!("a {other} literal"), e)),
            }
        }
        SqlExpr::UnaryOp { op, expr } => match op {
            UnaryOperator::Not => Expr::Not(boxed(expr)?),
            UnaryOperator::Plus => convert(expr)?,
            UnaryOperator::Minus => match convert(expr)? {
                Expr::Literal(Literal::Number(n)) => match n.strip_prefix('-') {
                    Some(positive) => Expr::Literal(Literal::Number(positive.to_string())),
                    None => Expr::Literal(Literal::Number(format!("-{n}"))),
                },
                other => Expr::Negate(Box::new(other)),
            },
            other => return Err(unsupported(&format!("the operator {other}"), e)),
        },
        SqlExpr::BinaryOp { left, op, right } => {
            let (l, r) = (boxed(left)?, boxed(right)?);
            let compare = |op| Expr::Compare(op, l.clone(), r.clone());
            let arith = |op| Expr::Arith(op, l.clone(), r.clone());
            match op {
                BinaryOperator::And => Expr::And(l, r),
                BinaryOperator::Or => Expr::Or(l, r),
                BinaryOperator::Eq => compare(CompareOp::Eq),
                BinaryOperator::NotEq => compare(CompareOp::NotEq),
                BinaryOperator::Lt => compare(CompareOp::Lt),
                BinaryOperator::LtEq => compare(CompareOp::LtEq),
                BinaryOperator::Gt => compare(CompareOp::Gt),
                BinaryOperator::GtEq => compare(CompareOp::GtEq),
                BinaryOperator::Spaceship => compare(CompareOp::NullSafeEq),
                BinaryOperator::Plus => arith(ArithOp::Add),
                BinaryOperator::Minus => arith(ArithOp::Sub),
                BinaryOperator::Multiply => arith(ArithOp::Mul),
                BinaryOperator::Divide => arith(ArithOp::Div),
                BinaryOperator::Modulo => arith(ArithOp::Rem),
                other => return Err(unsupported(&format!("the operator {other}"), e)),
            }
        }
        SqlExpr::IsNull(inner) => Expr::IsNull {
            expr: boxed(inner)?,
            negated: false,
        },
        SqlExpr::IsNotNull(inner) => Expr::IsNull {
            expr: boxed(inner)?,
            negated: true,
        },
        // `e IS TRUE` is true only for true, never null: `e <=> TRUE`
        SqlExpr::IsTrue(inner) => is_bool(inner, true, false)?,
        SqlExpr::IsNotTrue(inner) => is_bool(inner, true, true)?,
        SqlExpr::IsFalse(inner) => is_bool(inner, false, false)?,
        SqlExpr::IsNotFalse(inner) => is_bool(inner, false, true)?,
        SqlExpr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: boxed(expr)?,
            list: list.iter().map(convert).collect::<Result<_, _>>()?,
            negated: *negated,
        },
        SqlExpr::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: boxed(expr)?,
            low: boxed(low)?,
            high: boxed(high)?,
            negated: *negated,
        },
        SqlExpr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        }
        | SqlExpr::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => Expr::Like {
            expr: boxed(expr)?,
            pattern: boxed(pattern)?,
            negated: *negated,
            case_insensitive: matches!(e, SqlExpr::ILike { .. }),
        },
        SqlExpr::Like { .. } | SqlExpr::ILike { .. } => {
            return Err(unsupported("LIKE with ANY or ESCAPE", e));
        }
        SqlExpr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr,
            data_type,
            array: false,
            format: None,
        } => Expr::Cast {
            expr: boxed(expr)?,
            to: delta_type(data_type)
                .ok_or_else(|| unsupported(&format!("the type {data_type}"), e))?,
        },
        SqlExpr::Cast { .. } => return Err(unsupported("this kind of CAST", e)),
        SqlExpr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let operand = operand.as_deref().map(convert).transpose()?;
            let branches = conditions
                .iter()
                .map(|when| {
                    let condition = convert(&when.condition)?;
                    // CASE x WHEN v is CASE WHEN x = v
                    let condition = match &operand {
                        Some(x) => {
                            Expr::Compare(CompareOp::Eq, Box::new(x.clone()), Box::new(condition))
                        }
                        None => condition,
                    };
                    Ok((condition, convert(&when.result)?))
                })
                .collect::<Result<Vec<_>, ExprError>>()?;
            Expr::Case {
                branches,
                otherwise: else_result.as_deref().map(boxed).transpose()?,
            }
        }
        SqlExpr::Function(f) => function(f, e)?,
        SqlExpr::Substring {
            expr,
            substring_from: Some(from),
            substring_for,
            ..
        } => {
            let mut args = vec![convert(expr)?, convert(from)?];
            if let Some(length) = substring_for {
                args.push(convert(length)?);
            }
            Expr::Call(ExprFunction::Substring, args)
        }
        SqlExpr::InSubquery { .. } | SqlExpr::Subquery(_) | SqlExpr::Exists { .. } => {
            return Err(unsupported("a subquery", e));
        }
        _ => return Err(unsupported("this kind of expression", e)),
    })
}

/// A function call; only the ones listed are known.
fn function(f: &Function, e: &SqlExpr) -> Result<Expr, ExprError> {
    let name = f.name.to_string().to_lowercase();
    let FunctionArguments::List(list) = &f.args else {
        return Err(unsupported(&format!("the function {}", f.name), e));
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() || f.filter.is_some() {
        return Err(unsupported(&format!("this form of {}", f.name), e));
    }
    let args = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => convert(x),
            _ => Err(unsupported(&format!("this argument of {}", f.name), e)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if name == "coalesce" && !args.is_empty() {
        return Ok(Expr::Coalesce(args));
    }
    if name == "get_field" {
        return nested_field(args, e);
    }
    match ExprFunction::named(&name) {
        Some((function, counts)) if counts.contains(&args.len()) => Ok(Expr::Call(function, args)),
        Some((_, counts)) => Err(ExprError::Parse {
            text: e.to_string(),
            reason: format!(
                "{name} takes {} argument(s), not {}",
                if counts.start() == counts.end() {
                    counts.start().to_string()
                } else {
                    format!("{} to {}", counts.start(), counts.end())
                },
                args.len()
            ),
        }),
        None => Err(unsupported(&format!("the function {}", f.name), e)),
    }
}

/// `get_field(s, 'a')`, which is `s.a`. Not Spark SQL, but delta-rs writes nested
/// column references in CHECK constraints this way, and its tables must stay writable.
fn nested_field(args: Vec<Expr>, e: &SqlExpr) -> Result<Expr, ExprError> {
    match <[Expr; 2]>::try_from(args) {
        Ok(
            [
                Expr::Column(mut path),
                Expr::Literal(Literal::String(field)),
            ],
        ) => {
            path.push(field);
            Ok(Expr::Column(path))
        }
        _ => Err(ExprError::Parse {
            text: e.to_string(),
            reason: "get_field takes a column and a field name in quotes".into(),
        }),
    }
}

/// The Delta type of an SQL type name (Spark's names: `long`, `string`, ...).
fn delta_type(t: &SqlType) -> Option<DataType> {
    use sqlparser::ast::ExactNumberInfo;
    Some(match t {
        SqlType::TinyInt(_) => DataType::BYTE,
        SqlType::SmallInt(_) => DataType::SHORT,
        SqlType::Int(_) | SqlType::Integer(_) => DataType::INTEGER,
        SqlType::BigInt(_) => DataType::LONG,
        SqlType::Float(_) | SqlType::Real => DataType::FLOAT,
        SqlType::Double(_) | SqlType::DoublePrecision => DataType::DOUBLE,
        SqlType::Boolean | SqlType::Bool => DataType::BOOLEAN,
        SqlType::String(_) | SqlType::Varchar(_) | SqlType::Text | SqlType::Char(_) => {
            DataType::STRING
        }
        SqlType::Date => DataType::DATE,
        SqlType::Timestamp(..) => DataType::TIMESTAMP,
        SqlType::Binary(_) => DataType::BINARY,
        SqlType::Decimal(info) | SqlType::Numeric(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => (10, 0),
                ExactNumberInfo::Precision(p) => (*p, 0),
                ExactNumberInfo::PrecisionAndScale(p, s) => (*p, u64::try_from(*s).ok()?),
            };
            DataType::Primitive(
                PrimitiveType::decimal(u8::try_from(precision).ok()?, u8::try_from(scale).ok()?)
                    .ok()?,
            )
        }
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => {
            DataType::Primitive(PrimitiveType::parse(&name.to_string().to_lowercase()).ok()?)
        }
        _ => return None,
    })
}

fn is_bool(inner: &SqlExpr, value: bool, negated: bool) -> Result<Expr, ExprError> {
    let test = Expr::Compare(
        CompareOp::NullSafeEq,
        boxed(inner)?,
        Box::new(Expr::Literal(Literal::Boolean(value))),
    );
    Ok(if negated {
        Expr::Not(Box::new(test))
    } else {
        test
    })
}

fn literal(v: &Value, e: &SqlExpr) -> Result<Literal, ExprError> {
    Ok(match v {
        Value::Null => Literal::Null,
        Value::Boolean(b) => Literal::Boolean(*b),
        Value::Number(n, _) => Literal::Number(n.clone()),
        Value::SingleQuotedString(s)
        | Value::EscapedStringLiteral(s)
        | Value::TripleSingleQuotedString(s) => Literal::String(s.clone()),
        _ => return Err(unsupported("this kind of literal", e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> Expr {
        let e = parse(text).unwrap();
        let again = parse(&e.to_string()).unwrap();
        assert_eq!(e, again, "{text} -> {e}");
        e
    }

    #[test]
    fn names_that_are_keywords_print_quoted() {
        for name in [
            "true",
            "null",
            "interval",
            "case",
            "select",
            "current_date",
            "Value",
        ] {
            let column = Expr::Column(vec![name.to_string(), "x".to_string()]);
            let text = Expr::IsNull {
                expr: Box::new(column.clone()),
                negated: false,
            }
            .to_string();
            let back = parse(&text).unwrap();
            assert!(
                matches!(&back, Expr::IsNull { expr, .. } if **expr == column),
                "{name}: {text} -> {back:?}"
            );
        }
    }

    #[test]
    fn parses_the_supported_forms() {
        let e = round_trip("a > 1 AND b.c IS NOT NULL OR NOT (d <=> 'x''y')");
        let Expr::Or(left, _) = &e else {
            panic!("{e:?}")
        };
        assert!(matches!(**left, Expr::And(..)));
        round_trip("x IN (1, -2.5, 3e2) AND y NOT BETWEEN 1 AND 10");
        round_trip("`weird name` = \"Other\" - -3 * (2 % 1) / 4");
        round_trip("d = DATE '2024-01-01' AND t < TIMESTAMP '2024-01-01 10:00:00'");
        round_trip("flag IS TRUE AND other IS NOT FALSE");
        assert_eq!(
            parse("-5").unwrap(),
            Expr::Literal(Literal::Number("-5".into()))
        );
        assert_eq!(
            parse("`a.b`").unwrap(),
            Expr::Column(vec!["a.b".to_string()])
        );
        assert_eq!(parse("a.b").unwrap(), Expr::column("a.b"));
        // delta-rs writes nested references in constraints this way
        assert_eq!(
            parse("get_field(get_field(s, 'a'), 'b') > 0").unwrap(),
            parse("s.a.b > 0").unwrap()
        );
    }

    #[test]
    fn prints_with_the_parentheses_it_needs() {
        for (text, printed) in [
            ("a = 1 AND (b = 2 OR c = 3)", "a = 1 AND (b = 2 OR c = 3)"),
            ("(a = 1 AND b = 2) OR c = 3", "a = 1 AND b = 2 OR c = 3"),
            ("NOT (a = 1)", "NOT a = 1"),
            ("(a - b) - c = a - (b - c)", "a - b - c = a - (b - c)"),
            ("(a + b) * c > -d", "(a + b) * c > -d"),
            (
                "x NOT IN (1, 2) AND y BETWEEN 1 + 1 AND 3",
                "x NOT IN (1, 2) AND y BETWEEN 1 + 1 AND 3",
            ),
            ("`a b`.c IS NOT NULL", "`a b`.c IS NOT NULL"),
            ("name NOT ILIKE 'a%'", "name NOT ILIKE 'a%'"),
            (
                "CAST(a AS BIGINT) + CAST(b AS long)",
                "CAST(a AS long) + CAST(b AS long)",
            ),
            (
                "CAST(x AS DECIMAL(10, 2)) > 1",
                "CAST(x AS decimal(10,2)) > 1",
            ),
            (
                "CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' END",
                "CASE WHEN a = 1 THEN 'x' WHEN a = 2 THEN 'y' END",
            ),
            ("COALESCE(a, b, 0) = 1", "COALESCE(a, b, 0) = 1"),
            (
                "LOWER(a) = substr(b, 1, 2)",
                "lower(a) = substring(b, 1, 2)",
            ),
            ("SUBSTRING(a FROM 2) = 'x'", "substring(a, 2) = 'x'"),
        ] {
            let e = round_trip(text);
            assert_eq!(e.to_string(), printed, "{text}");
        }
    }

    #[test]
    fn columns_can_be_renamed_everywhere() {
        let e = parse(
            "CASE WHEN a IN (b, 1) THEN lower(c) ELSE coalesce(d, 'x') END LIKE e \
             AND NOT f BETWEEN g AND -h OR CAST(i AS long) + j IS NULL",
        )
        .unwrap();
        let qualified = e
            .try_map_columns(&mut |path| {
                let mut p = vec!["t".to_string()];
                p.extend(path.iter().cloned());
                Ok::<_, ()>(Expr::Column(p))
            })
            .unwrap();
        let text = qualified.to_string();
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            assert!(text.contains(&format!("t.{name}")), "{name} in {text}");
        }
        assert_eq!(parse(&text).unwrap(), qualified);
        let err = e.try_map_columns(&mut |path| match path[0].as_str() {
            "g" => Err("g is ambiguous"),
            _ => Ok(Expr::Column(path.to_vec())),
        });
        assert_eq!(err, Err("g is ambiguous"));
    }

    #[test]
    fn bad_and_unsupported_text_is_named() {
        let err = parse("a >").unwrap_err();
        assert!(matches!(err, ExprError::Parse { .. }), "{err}");
        let err = parse("a = 1 b").unwrap_err().to_string();
        assert!(err.contains("unexpected 'b'"), "{err}");
        let err = parse("name LIKE 'a%' ESCAPE '!'").unwrap_err().to_string();
        assert_eq!(
            err,
            "LIKE with ANY or ESCAPE (in 'name LIKE 'a%' ESCAPE '!'') is not supported"
        );
        let err = parse("soundex(name) = 'x'").unwrap_err().to_string();
        assert!(err.starts_with("the function soundex"), "{err}");
        let err = parse("lower(name, 2) = 'x'").unwrap_err().to_string();
        assert!(err.contains("lower takes 1 argument(s), not 2"), "{err}");
        let err = parse("CAST(a AS INTERVAL)").unwrap_err().to_string();
        assert!(err.starts_with("the type INTERVAL"), "{err}");
        let err = parse("get_field(s, a) > 0").unwrap_err().to_string();
        assert!(
            err.contains("get_field takes a column and a field name"),
            "{err}"
        );
        assert!(parse("").is_err());
    }
}
