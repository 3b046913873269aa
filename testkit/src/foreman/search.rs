//! Foreman's scoped search: the `search=` language of index requests and of permission filters.
//!
//! Parsing follows the scoped_search library Foreman uses: the same tokens (`=`, `!=`, `~`, `!~`,
//! `^`, `!^`, `<`, `>`, `and`/`&`, `or`/`|`, `not`/`!`/`-`, `set?`, `null?`, quoted values), and
//! the same right-recursive LL(1) parser, in which `and` and `or` have no precedence over each
//! other (`a and b or c` is `a and (b or c)`). A bare term is matched against the record's default
//! fields. A query is parsed once, checked against the fields of one kind of record
//! ([`Searchable`]) and then evaluated record by record; the checks raise Foreman's messages
//! (`Field 'x' not recognized for searching!`).

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::machine::Machine;

use super::db::{ForemanDb, Id};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`, `==`, `at`.
    Eq,
    /// `!=`, `<>`.
    Ne,
    /// `~`: case-insensitive LIKE, `%value%` unless the value has wildcards (`*`, `%`).
    Like,
    /// `!~`.
    Unlike,
    /// `>`, `after`.
    Gt,
    /// `<`, `before`.
    Lt,
    /// `>=`.
    Gte,
    /// `<=`.
    Lte,
    /// `^`: one of a comma-separated list.
    In,
    /// `!^`.
    NotIn,
}

impl Op {
    /// The operator as scoped_search names it in its messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Like => "like",
            Self::Unlike => "unlike",
            Self::Gt => "gt",
            Self::Lt => "lt",
            Self::Gte => "gte",
            Self::Lte => "lte",
            Self::In => "in",
            Self::NotIn => "notin",
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Every child holds.
    And(Vec<Node>),
    /// One child holds.
    Or(Vec<Node>),
    /// The child does not hold.
    Not(Box<Node>),
    /// A bare term (`op` is `None`) or a prefix comparison (`= x`) on the default fields.
    Term {
        /// The operator, if one was given.
        op: Option<Op>,
        /// The value.
        value: String,
    },
    /// `field op value` (for `^`, the values joined by commas).
    Cmp {
        /// The field.
        field: String,
        /// The operator.
        op: Op,
        /// The value.
        value: String,
    },
    /// `set? field` (`set` true) or `null? field`.
    Presence {
        /// The field.
        field: String,
        /// Whether the field must be set.
        set: bool,
    },
}

/// A query Foreman refuses (`ScopedSearch::QueryNotSupported`, answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// Foreman's message.
    pub message: String,
}

fn error<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError {
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    Null,
    NotNull,
    Op(Op),
    Word(String),
}

impl Token {
    /// How Ruby prints the token in scoped_search's messages.
    fn inspect(token: Option<&Self>) -> String {
        match token {
            None => "nil".to_owned(),
            Some(Self::LParen) => ":lparen".to_owned(),
            Some(Self::RParen) => ":rparen".to_owned(),
            Some(Self::Comma) => ":comma".to_owned(),
            Some(Self::And) => ":and".to_owned(),
            Some(Self::Or) => ":or".to_owned(),
            Some(Self::Not) => ":not".to_owned(),
            Some(Self::Null) => ":null".to_owned(),
            Some(Self::NotNull) => ":notnull".to_owned(),
            Some(Self::Op(op)) => format!(":{}", op.name()),
            Some(Self::Word(w)) => format!("{w:?}"),
        }
    }
}

fn operator(text: &str) -> Option<Token> {
    Some(match text {
        "&" | "&&" => Token::And,
        "|" | "||" => Token::Or,
        "-" | "!" => Token::Not,
        "~" => Token::Op(Op::Like),
        "!~" => Token::Op(Op::Unlike),
        "=" | "==" => Token::Op(Op::Eq),
        "!=" | "<>" => Token::Op(Op::Ne),
        ">" => Token::Op(Op::Gt),
        "<" => Token::Op(Op::Lt),
        ">=" => Token::Op(Op::Gte),
        "<=" => Token::Op(Op::Lte),
        "^" => Token::Op(Op::In),
        "!^" => Token::Op(Op::NotIn),
        _ => return None,
    })
}

fn keyword(word: &str) -> Option<Token> {
    Some(match word.to_lowercase().as_str() {
        "and" => Token::And,
        "or" => Token::Or,
        "not" => Token::Not,
        "set?" | "has" => Token::NotNull,
        "null?" => Token::Null,
        "before" => Token::Op(Op::Lt),
        "after" => Token::Op(Op::Gt),
        "at" => Token::Op(Op::Eq),
        _ => return None,
    })
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::LParen),
            ')' => tokens.push(Token::RParen),
            ',' => tokens.push(Token::Comma),
            '&' | '|' | '=' | '<' | '>' | '^' | '!' | '~' | '-' => {
                let mut op = c.to_string();
                if let Some(&next) = chars.get(i + 1) {
                    let pair = format!("{c}{next}");
                    if operator(&pair).is_some() {
                        op = pair;
                        i += 1;
                    }
                }
                if let Some(token) = operator(&op) {
                    tokens.push(token);
                }
            }
            '"' => {
                let mut word = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                tokens.push(Token::Word(word));
            }
            _ => {
                let mut word = c.to_string();
                while let Some(&next) = chars.get(i + 1) {
                    if next.is_whitespace() || "=~<>&|)(,".contains(next) {
                        break;
                    }
                    word.push(next);
                    i += 1;
                }
                tokens.push(keyword(&word).unwrap_or(Token::Word(word)));
            }
        }
        i += 1;
    }
    tokens
}

struct Parser {
    tokens: VecDeque<Token>,
    current: Option<Token>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.front()
    }

    fn next(&mut self) -> Option<Token> {
        self.current = self.tokens.pop_front();
        self.current.clone()
    }

    fn sequence(&mut self, root: bool) -> Result<Node, QueryError> {
        if !root && self.peek() == Some(&Token::LParen) {
            self.next();
        }
        let mut expressions = Vec::new();
        while !matches!(self.peek(), None | Some(Token::RParen)) {
            expressions.push(self.logical()?);
        }
        if !root && self.peek() == Some(&Token::RParen) {
            self.next();
        }
        Ok(Node::And(expressions))
    }

    fn logical(&mut self) -> Result<Node, QueryError> {
        let lhs = match self.peek() {
            Some(Token::LParen) => self.sequence(false)?,
            Some(Token::Not) => self.not()?,
            Some(Token::Null | Token::NotNull) => self.presence()?,
            Some(Token::And | Token::Or) => return self.infix(Vec::new()),
            _ => self.comparison()?,
        };
        if matches!(self.peek(), Some(Token::And | Token::Or)) {
            self.infix(vec![lhs])
        } else {
            Ok(lhs)
        }
    }

    fn infix(&mut self, mut previous: Vec<Node>) -> Result<Node, QueryError> {
        let operator = self.next();
        previous.push(self.logical()?);
        Ok(if operator == Some(Token::Or) {
            Node::Or(previous)
        } else {
            Node::And(previous)
        })
    }

    fn not(&mut self) -> Result<Node, QueryError> {
        self.next();
        let negated = match self.peek() {
            Some(Token::Not) => self.not()?,
            Some(Token::LParen) => self.sequence(false)?,
            _ => self.comparison()?,
        };
        if matches!(&negated, Node::And(children) | Node::Or(children) if children.is_empty()) {
            return error("No operands found");
        }
        Ok(Node::Not(Box::new(negated)))
    }

    fn presence(&mut self) -> Result<Node, QueryError> {
        let set = self.next() == Some(Token::NotNull);
        let field = self.value()?;
        Ok(Node::Presence { field, set })
    }

    fn comparison(&mut self) -> Result<Node, QueryError> {
        if self.peek() == Some(&Token::Comma) {
            self.next();
        }
        if matches!(self.peek(), Some(Token::Word(_))) {
            self.infix_comparison()
        } else {
            self.prefix_comparison()
        }
    }

    fn prefix_comparison(&mut self) -> Result<Node, QueryError> {
        match self.next() {
            Some(Token::Op(Op::In)) => Ok(self.prefix_in(true)),
            Some(Token::Op(Op::NotIn)) => Ok(self.prefix_in(false)),
            Some(Token::Op(op)) => Ok(Node::Term {
                op: Some(op),
                value: self.value()?,
            }),
            other => error(format!(
                "Value expected but found {}",
                Token::inspect(other.as_ref())
            )),
        }
    }

    fn prefix_in(&mut self, inclusion: bool) -> Node {
        let op = if inclusion { Op::Eq } else { Op::Ne };
        let leaves = self
            .multiple_values()
            .into_iter()
            .map(|value| Node::Term {
                op: Some(op),
                value,
            })
            .collect();
        if inclusion {
            Node::Or(leaves)
        } else {
            Node::And(leaves)
        }
    }

    fn infix_comparison(&mut self) -> Result<Node, QueryError> {
        let lhs = self.value()?;
        match self.peek() {
            Some(Token::Comma) => {
                self.next();
                Ok(Node::Term {
                    op: None,
                    value: lhs,
                })
            }
            Some(Token::Op(op)) => {
                let op = *op;
                self.next();
                let value = self.value()?;
                Ok(Node::Cmp {
                    field: lhs,
                    op,
                    value,
                })
            }
            _ => Ok(Node::Term {
                op: None,
                value: lhs,
            }),
        }
    }

    fn multiple_values(&mut self) -> Vec<String> {
        if self.peek() == Some(&Token::LParen) {
            self.next();
        }
        let mut values = Vec::new();
        while !matches!(self.peek(), None | Some(Token::RParen)) {
            if let Some(Token::Word(word)) = self.next() {
                values.push(word);
            }
        }
        if self.peek() == Some(&Token::RParen) {
            self.next();
        }
        values
    }

    fn value(&mut self) -> Result<String, QueryError> {
        if let Some(Token::Word(_)) = self.peek()
            && let Some(Token::Word(word)) = self.next()
        {
            return Ok(word);
        }
        if matches!(self.current, Some(Token::Op(Op::In | Op::NotIn))) {
            return Ok(self.multiple_values().join(","));
        }
        error(format!(
            "Value expected but found {}",
            Token::inspect(self.peek())
        ))
    }
}

fn simplify(node: Node) -> Option<Node> {
    match node {
        Node::And(children) | Node::Or(children) if children.is_empty() => None,
        Node::And(children) => flatten(children, true),
        Node::Or(children) => flatten(children, false),
        Node::Not(child) => simplify(*child).map(|c| Node::Not(Box::new(c))),
        other => Some(other),
    }
}

fn flatten(children: Vec<Node>, and: bool) -> Option<Node> {
    let mut flat = Vec::new();
    for child in children.into_iter().filter_map(simplify) {
        match child {
            Node::And(grand) if and => flat.extend(grand),
            Node::Or(grand) if !and => flat.extend(grand),
            other => flat.push(other),
        }
    }
    match flat.len() {
        0 => None,
        1 => flat.pop(),
        _ => Some(if and { Node::And(flat) } else { Node::Or(flat) }),
    }
}

/// Parses a query; `None` for a blank one (which matches everything).
///
/// # Errors
/// When the query cannot be parsed, with scoped_search's message.
pub fn parse(text: &str) -> Result<Option<Node>, QueryError> {
    let mut tokens: VecDeque<Token> = tokenize(text).into();
    while tokens.back().is_some_and(|t| !matches!(t, Token::Word(_))) {
        tokens.pop_back();
    }
    let mut parser = Parser {
        tokens,
        current: None,
    };
    Ok(simplify(parser.sequence(true)?))
}

/// How a field compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: every operator; `~` is a case-insensitive LIKE.
    Text,
    /// An integer (scoped_search's INTEGER validator): no `~`.
    Integer,
    /// `true`/`false` only, with `=` and `!=` only.
    Set,
    /// Evaluated by the record itself (Foreman's `ext_method` fields such as `owner`).
    Virtual,
}

/// One value of a field (a field may have none, i.e. NULL, or several, for a has-many relation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number.
    Int(i64),
    /// A flag.
    Bool(bool),
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Self::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

/// What a search needs besides the record: the other records and who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Foreman's records.
    pub db: &'a ForemanDb,
    /// The machines (a host's `build` flag lives there), already advanced to now.
    pub machines: &'a [Machine],
    /// The user the request runs as (`current_user` in queries).
    pub current_user: Id,
}

/// A kind of record that can be searched.
pub trait Searchable {
    /// The kind of a searchable field, `None` when the field is not searchable.
    fn kind(field: &str) -> Option<Kind>;
    /// The fields a bare term is matched against.
    fn default_fields() -> &'static [&'static str];
    /// The values of a field of this record.
    fn values(&self, field: &str, ctx: &Ctx<'_>) -> Vec<Value>;
    /// Evaluates a [`Kind::Virtual`] field.
    fn virtual_match(&self, _field: &str, _op: Op, _value: &str, _ctx: &Ctx<'_>) -> bool {
        false
    }
}

fn split_values(op: Op, value: &str) -> Vec<&str> {
    if matches!(op, Op::In | Op::NotIn) {
        value.split(',').map(str::trim).collect()
    } else {
        vec![value]
    }
}

/// Checks every field and value of a query against a kind of record, as Foreman does before
/// running it.
///
/// # Errors
/// Foreman's message for an unknown field, a value of the wrong type or an unsupported operator.
pub fn check<R: Searchable>(node: &Node) -> Result<(), QueryError> {
    match node {
        Node::And(children) | Node::Or(children) => {
            children.iter().try_for_each(|child| check::<R>(child))
        }
        Node::Not(child) => check::<R>(child),
        Node::Term { .. } => Ok(()),
        Node::Presence { field, .. } => R::kind(field)
            .map(|_| ())
            .ok_or_else(|| not_recognized(field)),
        Node::Cmp { field, op, value } => {
            let kind = R::kind(field).ok_or_else(|| not_recognized(field))?;
            match kind {
                Kind::Integer => {
                    if matches!(op, Op::Like | Op::Unlike) {
                        return error(format!(
                            "the operator '{}' is not supported for field type 'integer'",
                            op.name()
                        ));
                    }
                    for v in split_values(*op, value) {
                        if v.parse::<i64>().is_err() {
                            return error(format!("Value '{v}' is not valid for field '{field}'"));
                        }
                    }
                    Ok(())
                }
                Kind::Set => {
                    for v in split_values(*op, value) {
                        if v != "true" && v != "false" {
                            return error(format!(
                                "'{field}' should be one of 'true, false', but the query was '{v}'"
                            ));
                        }
                    }
                    if matches!(op, Op::Eq | Op::Ne) {
                        Ok(())
                    } else {
                        error(format!(
                            "Operator '{}' not supported for '{field}'",
                            op.name()
                        ))
                    }
                }
                Kind::Text | Kind::Virtual => Ok(()),
            }
        }
    }
}

fn not_recognized(field: &str) -> QueryError {
    QueryError {
        message: format!("Field '{field}' not recognized for searching!"),
    }
}

/// Parses and checks a query for a kind of record.
///
/// # Errors
/// As [`parse`] and [`check`].
pub fn compile<R: Searchable>(text: &str) -> Result<Option<Node>, QueryError> {
    let node = parse(text)?;
    if let Some(node) = &node {
        check::<R>(node)?;
    }
    Ok(node)
}

/// Whether a record matches a checked query.
pub fn matches<R: Searchable>(node: &Node, record: &R, ctx: &Ctx<'_>) -> bool {
    match node {
        Node::And(children) => children.iter().all(|c| matches(c, record, ctx)),
        Node::Or(children) => children.iter().any(|c| matches(c, record, ctx)),
        Node::Not(child) => !matches(child, record, ctx),
        Node::Presence { field, set } => {
            let present = !record.values(field, ctx).is_empty();
            present == *set
        }
        Node::Term { op, value } => R::default_fields().iter().any(|field| {
            let kind = R::kind(field).unwrap_or(Kind::Text);
            let op = op.unwrap_or(match kind {
                Kind::Text => Op::Like,
                _ => Op::Eq,
            });
            match kind {
                Kind::Text => compare_values(op, value, &record.values(field, ctx)),
                Kind::Integer if value.parse::<i64>().is_ok() => {
                    compare_values(op, value, &record.values(field, ctx))
                }
                _ => false,
            }
        }),
        Node::Cmp { field, op, value } => match R::kind(field) {
            Some(Kind::Virtual) => record.virtual_match(field, *op, value, ctx),
            Some(_) => compare_values(*op, value, &record.values(field, ctx)),
            None => false,
        },
    }
}

/// Whether any of `actual` compares to `value` with `op` (SQL semantics: NULL never matches;
/// numbers compare as numbers).
#[must_use]
pub fn compare_values(op: Op, value: &str, actual: &[Value]) -> bool {
    actual.iter().any(|a| compare(op, value, a))
}

fn compare(op: Op, value: &str, actual: &Value) -> bool {
    match op {
        Op::In => split_values(op, value)
            .into_iter()
            .any(|v| compare(Op::Eq, v, actual)),
        Op::NotIn => split_values(op, value)
            .into_iter()
            .all(|v| compare(Op::Ne, v, actual)),
        _ => match actual {
            Value::Text(text) => compare_text(op, text, value),
            Value::Int(n) => value
                .trim()
                .parse::<i64>()
                .map(|v| ordered(op, n.cmp(&v)))
                .unwrap_or_else(|_| compare_text(op, &n.to_string(), value)),
            Value::Bool(b) => match value {
                "true" | "false" => ordered(op, b.cmp(&(value == "true"))),
                _ => false,
            },
        },
    }
}

fn ordered(op: Op, ordering: Ordering) -> bool {
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Lt => ordering == Ordering::Less,
        Op::Gte => ordering != Ordering::Less,
        Op::Lte => ordering != Ordering::Greater,
        Op::Like | Op::Unlike | Op::In | Op::NotIn => false,
    }
}

/// Compares text as Foreman on PostgreSQL does: `=` exact, `~` case-insensitive LIKE.
#[must_use]
pub fn compare_text(op: Op, actual: &str, value: &str) -> bool {
    match op {
        Op::Like => ilike(actual, &like_pattern(value)),
        Op::Unlike => !ilike(actual, &like_pattern(value)),
        Op::In | Op::NotIn => compare(op, value, &Value::Text(actual.to_owned())),
        _ => ordered(op, actual.cmp(value)),
    }
}

/// scoped_search's LIKE pattern: `%value%` unless the value starts or ends with a wildcard;
/// `*` is a wildcard like `%`.
fn like_pattern(value: &str) -> String {
    let wild = |c: char| c == '%' || c == '*';
    if !value.starts_with(wild) && !value.ends_with(wild) {
        format!("%{value}%")
    } else {
        let mut out = String::new();
        for c in value.chars() {
            let c = if c == '*' { '%' } else { c };
            if !(c == '%' && out.ends_with('%')) {
                out.push(c);
            }
        }
        out
    }
}

/// SQL ILIKE: `%` any run, `_` any one character, case-insensitive.
fn ilike(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((bp, bt)) = backtrack {
            p = bp + 1;
            t = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

/// The sort of an index (`order=field [ASC|DESC]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The field.
    pub field: String,
    /// Descending.
    pub descending: bool,
}

/// Parses `order=`; `None` when blank.
///
/// # Errors
/// For a field the record cannot be searched (or sorted) by.
pub fn order<R: Searchable>(text: &str) -> Result<Option<Order>, QueryError> {
    let mut words = text.split_whitespace();
    let Some(field) = words.next() else {
        return Ok(None);
    };
    if R::kind(field).is_none_or(|k| k == Kind::Virtual) {
        return error(format!(
            "the field '{field}' in the order statement is not valid field for search"
        ));
    }
    let descending = words.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
    Ok(Some(Order {
        field: field.to_owned(),
        descending,
    }))
}

/// Compares two records by a field, for sorting.
pub fn compare_by<R: Searchable>(order: &Order, a: &R, b: &R, ctx: &Ctx<'_>) -> Ordering {
    let key = |r: &R| r.values(&order.field, ctx).into_iter().next();
    let ordering = match (key(a), key(b)) {
        (Some(Value::Int(x)), Some(Value::Int(y))) => x.cmp(&y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(&y),
        (Some(Value::Text(x)), Some(Value::Text(y))) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    };
    if order.descending {
        ordering.reverse()
    } else {
        ordering
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, value: &str) -> Node {
        Node::Cmp {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    fn parsed(text: &str) -> Node {
        parse(text).expect("parses").expect("not blank")
    }

    #[test]
    fn comparisons_and_quoted_values() {
        assert_eq!(parsed("name = a.b"), cmp("name", Op::Eq, "a.b"));
        assert_eq!(parsed("build=true"), cmp("build", Op::Eq, "true"));
        assert_eq!(
            parsed("name ~ \"f01 h\\\"x\""),
            cmp("name", Op::Like, "f01 h\"x")
        );
        assert_eq!(
            parsed("name !~ f01-h02"),
            cmp("name", Op::Unlike, "f01-h02")
        );
        assert_eq!(parsed("owner_id <> 4"), cmp("owner_id", Op::Ne, "4"));
        assert_eq!(parsed("params.cloud != cloud02"), {
            cmp("params.cloud", Op::Ne, "cloud02")
        });
        assert_eq!(parse("   ").expect("blank"), None);
    }

    #[test]
    fn in_lists_with_and_without_parens() {
        assert_eq!(parsed("name ^ (a, b,c)"), cmp("name", Op::In, "a,b,c"));
        assert_eq!(parsed("id !^ (1,2)"), cmp("id", Op::NotIn, "1,2"));
        assert_eq!(parsed("name ^ a"), cmp("name", Op::In, "a"));
    }

    #[test]
    fn logic_is_right_recursive_without_precedence() {
        // scoped_search: `a and b or c` is `a and (b or c)`.
        assert_eq!(
            parsed("build = true and name = a or name = b"),
            Node::And(vec![
                cmp("build", Op::Eq, "true"),
                Node::Or(vec![cmp("name", Op::Eq, "a"), cmp("name", Op::Eq, "b")]),
            ])
        );
        // Juxtaposition is `and`; `&`, `|`, `!` and `-` are operators too.
        assert_eq!(
            parsed("build = true name ~ r640"),
            Node::And(vec![
                cmp("build", Op::Eq, "true"),
                cmp("name", Op::Like, "r640")
            ])
        );
        assert_eq!(
            parsed("(name = a | name = b) & not build = true"),
            Node::And(vec![
                Node::Or(vec![cmp("name", Op::Eq, "a"), cmp("name", Op::Eq, "b")]),
                Node::Not(Box::new(cmp("build", Op::Eq, "true"))),
            ])
        );
        assert_eq!(
            parsed("-name = a"),
            Node::Not(Box::new(cmp("name", Op::Eq, "a")))
        );
    }

    #[test]
    fn bare_terms_presence_and_errors() {
        assert_eq!(
            parsed("r640"),
            Node::Term {
                op: None,
                value: "r640".into()
            }
        );
        assert_eq!(
            parsed("set? comment"),
            Node::Presence {
                field: "comment".into(),
                set: true
            }
        );
        // A trailing operator is dropped, as scoped_search does.
        assert_eq!(parsed("name = a and"), cmp("name", Op::Eq, "a"));
        assert_eq!(
            parse("name = ) x").expect_err("no value").message,
            "Value expected but found :rparen"
        );
        assert_eq!(
            parse("not () x").expect_err("empty").message,
            "No operands found"
        );
    }

    #[test]
    fn like_patterns() {
        assert!(compare_text(Op::Like, "f01-h01-000-R640", "r640"));
        assert!(compare_text(Op::Like, "f01-h01", "f01*"));
        assert!(!compare_text(Op::Like, "xf01-h01", "f01*"));
        assert!(compare_text(Op::Like, "abc", "a_c"));
        assert!(compare_text(Op::Unlike, "abc", "zz"));
        assert!(compare_text(Op::In, "b", "a,b"));
        assert!(compare_text(Op::NotIn, "c", "a,b"));
        assert!(!compare_text(Op::Eq, "Abc", "abc"));
    }

    struct Row {
        name: &'static str,
        id: u64,
        flag: bool,
    }

    impl Searchable for Row {
        fn kind(field: &str) -> Option<Kind> {
            match field {
                "name" => Some(Kind::Text),
                "id" => Some(Kind::Integer),
                "flag" => Some(Kind::Set),
                _ => None,
            }
        }
        fn default_fields() -> &'static [&'static str] {
            &["name"]
        }
        fn values(&self, field: &str, _ctx: &Ctx<'_>) -> Vec<Value> {
            match field {
                "name" => vec![self.name.into()],
                "id" => vec![self.id.into()],
                "flag" => vec![self.flag.into()],
                _ => vec![],
            }
        }
    }

    #[test]
    fn checks_raise_foremans_messages() {
        let message = |q: &str| compile::<Row>(q).expect_err(q).message;
        assert_eq!(
            message("nope = 1"),
            "Field 'nope' not recognized for searching!"
        );
        assert_eq!(message("id = x"), "Value 'x' is not valid for field 'id'");
        assert_eq!(
            message("id ~ 1"),
            "the operator 'like' is not supported for field type 'integer'"
        );
        assert_eq!(
            message("flag = yes"),
            "'flag' should be one of 'true, false', but the query was 'yes'"
        );
        assert_eq!(
            message("flag > true"),
            "Operator 'gt' not supported for 'flag'"
        );
        assert!(compile::<Row>("name = a or id ^ (1, 2)").is_ok());
    }

    #[test]
    fn evaluation() {
        let db = ForemanDb::default();
        let ctx = Ctx {
            db: &db,
            machines: &[],
            current_user: 0,
        };
        let rows = [
            Row {
                name: "alpha",
                id: 1,
                flag: true,
            },
            Row {
                name: "beta",
                id: 2,
                flag: false,
            },
            Row {
                name: "gamma",
                id: 10,
                flag: true,
            },
        ];
        let hits = |q: &str| -> Vec<u64> {
            let node = compile::<Row>(q).expect(q).expect("not blank");
            rows.iter()
                .filter(|r| matches(&node, *r, &ctx))
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(hits("flag = true"), [1, 10]);
        assert_eq!(hits("flag != true"), [2]);
        assert_eq!(hits("id > 1"), [2, 10]);
        assert_eq!(hits("id ^ (1, 10)"), [1, 10]);
        assert_eq!(hits("name ~ ETA"), [2]);
        assert_eq!(hits("not name = alpha and flag = true"), [10]);
        assert_eq!(hits("amm"), [10]);
        assert_eq!(hits("= beta"), [2]);
        assert_eq!(hits("^ (alpha, beta)"), [1, 2]);
        let by_id = order::<Row>("id DESC").expect("order").expect("set");
        let mut sorted: Vec<&Row> = rows.iter().collect();
        sorted.sort_by(|a, b| compare_by(&by_id, *a, *b, &ctx));
        assert_eq!(sorted.iter().map(|r| r.id).collect::<Vec<_>>(), [10, 2, 1]);
        assert!(order::<Row>("nope").is_err());
    }
}
