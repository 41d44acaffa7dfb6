//! Recursive-descent parser with Tempo's grammar (`expr.y`) and validation
//! (`ast_validate.go`), reporting errors at the offending token.
//!
//! Precedence, lowest first, exactly as Tempo's yacc declarations:
//! `|` < `&&` = `||` (left-assoc, *same* level) < comparisons and structural spanset
//! operators < `+ -` < `!` < `* / %` < `^` (right-assoc).

use crate::ast::{
    Aggregate, ArithOp, Attribute, AttributeScope, CompareOp, Field, FieldExpr, Hint, Intrinsic,
    MetricsFunction, MetricsStage, Pipeline, ScalarFilter, SpansetExpr, SpansetOp, Stage,
};
use crate::error::ParseError;
use crate::lexer::{AttrPrefix, ColonScope, Keyword, Tok, Token, tokenize};
use crate::pattern::Pattern;
use crate::query::{Query, structural_over_groups};
use crate::value::{Kind, Literal, Status};

/// Parses a TraceQL query.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let mut parser = Parser {
        tokens: tokenize(text),
        pos: 0,
    };
    parser.query()
}

/// Most group-by labels Tempo accepts (`maxGroupBys`).
const MAX_GROUP_BYS: usize = 5;

/// Static type of an expression, Tempo's `StaticType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Resolved per span (attributes).
    Attribute,
    Str,
    Int,
    Float,
    Bool,
    Duration,
    Status,
    Kind,
    Nil,
}

impl Ty {
    fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Duration)
    }

    /// `isMatchingOperand`: can these two meet under a binary operator at all?
    fn matches(self, other: Ty) -> bool {
        self == Ty::Attribute
            || other == Ty::Attribute
            || self == other
            || (self.is_numeric() && other.is_numeric())
            || self == Ty::Nil
            || other == Ty::Nil
    }
}

/// Operator classes for `binaryTypeValid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpClass {
    Logical,
    Equality,
    Ordering,
    Regex,
    Arithmetic,
}

fn op_accepts(op: OpClass, ty: Ty) -> bool {
    match ty {
        Ty::Attribute => true,
        Ty::Bool => matches!(op, OpClass::Logical | OpClass::Equality),
        Ty::Int | Ty::Float | Ty::Duration => {
            matches!(
                op,
                OpClass::Arithmetic | OpClass::Equality | OpClass::Ordering
            )
        }
        Ty::Str => matches!(op, OpClass::Equality | OpClass::Ordering | OpClass::Regex),
        Ty::Nil | Ty::Status | Ty::Kind => op == OpClass::Equality,
    }
}

pub(crate) fn literal_type(l: &Literal) -> Ty {
    match l {
        Literal::Str(_) => Ty::Str,
        Literal::Int(_) => Ty::Int,
        Literal::Float(_) => Ty::Float,
        Literal::Bool(_) => Ty::Bool,
        Literal::Duration(_) => Ty::Duration,
        Literal::Status(_) => Ty::Status,
        Literal::Kind(_) => Ty::Kind,
        Literal::Nil => Ty::Nil,
    }
}

fn intrinsic_type(i: Intrinsic) -> Ty {
    match i {
        Intrinsic::Name
        | Intrinsic::StatusMessage
        | Intrinsic::SpanId
        | Intrinsic::ParentId
        | Intrinsic::RootName
        | Intrinsic::RootServiceName
        | Intrinsic::TraceId
        | Intrinsic::EventName
        | Intrinsic::LinkSpanId
        | Intrinsic::LinkTraceId
        | Intrinsic::InstrumentationName
        | Intrinsic::InstrumentationVersion => Ty::Str,
        Intrinsic::Status => Ty::Status,
        Intrinsic::Kind => Ty::Kind,
        Intrinsic::Duration | Intrinsic::TraceDuration | Intrinsic::EventTimeSinceStart => {
            Ty::Duration
        }
        Intrinsic::ChildCount => Ty::Int,
        Intrinsic::Parent => Ty::Nil,
    }
}

/// Tempo's `impliedType`.
pub(crate) fn implied_type(e: &FieldExpr) -> Ty {
    match e {
        FieldExpr::Literal(l) => literal_type(l),
        FieldExpr::Field(Field::Intrinsic(i)) => intrinsic_type(*i),
        FieldExpr::Field(Field::Attribute(_)) => Ty::Attribute,
        FieldExpr::And(..)
        | FieldExpr::Or(..)
        | FieldExpr::Compare { .. }
        | FieldExpr::Regex { .. }
        | FieldExpr::Exists { .. } => Ty::Bool,
        FieldExpr::Not(inner) | FieldExpr::Neg(inner) => implied_type(inner),
        FieldExpr::Arith { lhs, rhs, .. } => match implied_type(lhs) {
            Ty::Attribute => implied_type(rhs),
            t => t,
        },
    }
}

/// A binary operator inside a field expression.
#[derive(Debug, Clone, Copy)]
enum BinOp {
    And,
    Or,
    Compare(CompareOp),
    Regex { negated: bool },
    Arith(ArithOp),
}

impl BinOp {
    fn from_tok(tok: &Tok) -> Option<(BinOp, u8)> {
        Some(match tok {
            Tok::And => (BinOp::And, 1),
            Tok::Or => (BinOp::Or, 1),
            Tok::Eq => (BinOp::Compare(CompareOp::Eq), 2),
            Tok::Neq => (BinOp::Compare(CompareOp::Neq), 2),
            Tok::Gt => (BinOp::Compare(CompareOp::Gt), 2),
            Tok::Gte => (BinOp::Compare(CompareOp::Gte), 2),
            Tok::Lt => (BinOp::Compare(CompareOp::Lt), 2),
            Tok::Lte => (BinOp::Compare(CompareOp::Lte), 2),
            Tok::Re => (BinOp::Regex { negated: false }, 2),
            Tok::Nre => (BinOp::Regex { negated: true }, 2),
            Tok::Add => (BinOp::Arith(ArithOp::Add), 3),
            Tok::Sub => (BinOp::Arith(ArithOp::Sub), 3),
            Tok::Mul => (BinOp::Arith(ArithOp::Mul), 5),
            Tok::Div => (BinOp::Arith(ArithOp::Div), 5),
            Tok::Mod => (BinOp::Arith(ArithOp::Mod), 5),
            Tok::Pow => (BinOp::Arith(ArithOp::Pow), 6),
            _ => return None,
        })
    }
}

/// Operand precedence of prefix `!` and `-`: they take `*`, `/`, `%`, `^` but not `+`.
const PREFIX_OPERAND_PRECEDENCE: u8 = 5;

fn structural_op(tok: &Tok) -> Option<SpansetOp> {
    Some(match tok {
        Tok::Gt => SpansetOp::Child,
        Tok::Lt => SpansetOp::Parent,
        Tok::Desc => SpansetOp::Descendant,
        Tok::Ance => SpansetOp::Ancestor,
        Tok::Sibl => SpansetOp::Sibling,
        Tok::NotChild => SpansetOp::NotChild,
        Tok::NotParent => SpansetOp::NotParent,
        Tok::NotDesc => SpansetOp::NotDescendant,
        Tok::NotAnce => SpansetOp::NotAncestor,
        Tok::Nre => SpansetOp::NotSibling,
        Tok::UnionChild => SpansetOp::UnionChild,
        Tok::UnionParent => SpansetOp::UnionParent,
        Tok::UnionDesc => SpansetOp::UnionDescendant,
        Tok::UnionAnce => SpansetOp::UnionAncestor,
        Tok::UnionSibl => SpansetOp::UnionSibling,
        _ => return None,
    })
}

fn is_metrics_keyword(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Kw(
            Keyword::Rate
                | Keyword::CountOverTime
                | Keyword::MinOverTime
                | Keyword::MaxOverTime
                | Keyword::AvgOverTime
                | Keyword::SumOverTime
                | Keyword::QuantileOverTime
                | Keyword::HistogramOverTime
                | Keyword::Compare
        )
    )
}

type Pos = (usize, usize);

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// One side of a scalar filter.
enum ScalarOperand {
    Aggregate(Aggregate),
    Literal(Literal),
}

impl Parser {
    // ----- token plumbing ------------------------------------------------------------

    fn current(&self) -> &Token {
        // `tokenize` always ends with Eof or Error, and `advance` never steps past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.current().tok
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        let index = (self.pos + offset).min(self.tokens.len() - 1);
        &self.tokens[index].tok
    }

    fn here(&self) -> Pos {
        let t = self.current();
        (t.line, t.col)
    }

    fn advance(&mut self) -> Token {
        let token = self.current().clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn at(&self, tok: &Tok) -> bool {
        self.peek() == tok
    }

    fn syntax_at(&self, (line, col): Pos, message: String) -> ParseError {
        ParseError::Syntax { message, line, col }
    }

    /// `syntax error: unexpected X` for the current token (or its lexical error).
    fn unexpected(&self) -> ParseError {
        let message = match self.peek() {
            Tok::Error(message) => message.clone(),
            tok => format!("syntax error: unexpected {}", tok.describe()),
        };
        self.syntax_at(self.here(), message)
    }

    fn expect(&mut self, tok: Tok) -> Result<Token, ParseError> {
        if self.at(&tok) {
            return Ok(self.advance());
        }
        let message = match self.peek() {
            Tok::Error(message) => message.clone(),
            found => format!(
                "syntax error: unexpected {}, expecting {}",
                found.describe(),
                tok.describe()
            ),
        };
        Err(self.syntax_at(self.here(), message))
    }

    fn unsupported(&self, (line, col): Pos, construct: impl Into<String>) -> ParseError {
        ParseError::Unsupported {
            construct: construct.into(),
            line,
            col,
        }
    }

    fn type_error(&self, (line, col): Pos, message: String) -> ParseError {
        ParseError::Type { message, line, col }
    }

    // ----- query and pipelines -------------------------------------------------------

    fn query(&mut self) -> Result<Query, ParseError> {
        let pipeline = self.pipeline(false)?;
        let mut metrics = None;
        if self.at(&Tok::Pipe) && is_metrics_keyword(self.peek_at(1)) {
            self.advance();
            metrics = Some(self.metrics_stage()?);
            if self.at(&Tok::Pipe) {
                self.advance();
                return Err(match self.peek() {
                    Tok::Kw(k @ (Keyword::Topk | Keyword::Bottomk)) => {
                        self.unsupported(self.here(), format!("{}()", k.spelling()))
                    }
                    _ => self.unexpected(),
                });
            }
        }
        let mut hints = Vec::new();
        while self.at(&Tok::Kw(Keyword::With)) {
            self.hints(&mut hints)?;
        }
        if !self.at(&Tok::Eof) {
            return Err(self.unexpected());
        }
        Ok(Query::new(pipeline, metrics, hints))
    }

    /// `stage ('|' stage)*`, stopping before `| <metrics function>`.
    fn pipeline(&mut self, nested: bool) -> Result<Pipeline, ParseError> {
        let mut stages = vec![self.stage(true, nested)?];
        while self.at(&Tok::Pipe) {
            if is_metrics_keyword(self.peek_at(1)) {
                if nested {
                    self.advance();
                    return Err(self.unsupported(
                        self.here(),
                        "metrics functions inside parentheses (metrics arithmetic)",
                    ));
                }
                break;
            }
            self.advance();
            stages.push(self.stage(false, nested)?);
        }
        Ok(Pipeline { stages })
    }

    fn stage(&mut self, first: bool, nested: bool) -> Result<Stage, ParseError> {
        match self.peek() {
            Tok::Kw(Keyword::By) => {
                let pos = self.here();
                self.advance();
                self.expect(Tok::LParen)?;
                let expr = self.field_expr()?;
                self.expect(Tok::RParen)?;
                if !expr.references_span() {
                    return Err(self.type_error(
                        pos,
                        format!("grouping field expressions must reference the span: by({expr})"),
                    ));
                }
                Ok(Stage::GroupBy(expr))
            }
            Tok::Kw(Keyword::Select) => {
                self.advance();
                self.expect(Tok::LParen)?;
                let fields = self.field_list()?;
                self.expect(Tok::RParen)?;
                Ok(Stage::Select(fields))
            }
            Tok::Kw(Keyword::Coalesce) if !first => {
                self.advance();
                self.expect(Tok::LParen)?;
                self.expect(Tok::RParen)?;
                Ok(Stage::Coalesce)
            }
            Tok::Kw(Keyword::Count | Keyword::Avg | Keyword::Min | Keyword::Max | Keyword::Sum)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Duration(_)
            | Tok::Sub => self.scalar_filter(nested).map(Stage::ScalarFilter),
            Tok::Kw(k @ (Keyword::Topk | Keyword::Bottomk | Keyword::Compare)) => {
                Err(self.unsupported(self.here(), format!("{}()", k.spelling())))
            }
            _ => self.spanset_expr().map(Stage::Spanset),
        }
    }

    // ----- scalar filters ------------------------------------------------------------

    fn scalar_filter(&mut self, nested: bool) -> Result<ScalarFilter, ParseError> {
        let start = self.here();
        let lhs = self.scalar_operand()?;
        self.reject_scalar_arithmetic()?;
        if nested && self.at(&Tok::RParen) && matches!(lhs, ScalarOperand::Aggregate(_)) {
            return Err(self.unsupported(start, "scalar pipeline expressions"));
        }
        let op = match self.peek() {
            Tok::Eq => CompareOp::Eq,
            Tok::Neq => CompareOp::Neq,
            Tok::Lt => CompareOp::Lt,
            Tok::Lte => CompareOp::Lte,
            Tok::Gt => CompareOp::Gt,
            Tok::Gte => CompareOp::Gte,
            _ => return Err(self.unexpected()),
        };
        self.advance();
        let rhs_pos = self.here();
        let rhs = self.scalar_operand()?;
        self.reject_scalar_arithmetic()?;
        match (lhs, rhs) {
            (ScalarOperand::Aggregate(aggregate), ScalarOperand::Literal(value)) => {
                let lhs_ty = match aggregate.field() {
                    None => Ty::Int,
                    Some(e) => implied_type(e),
                };
                let filter = ScalarFilter {
                    aggregate,
                    op,
                    value,
                };
                let rhs_ty = literal_type(&filter.value);
                if !lhs_ty.matches(rhs_ty) {
                    return Err(self.type_error(
                        start,
                        format!("binary operations must operate on the same type: {filter}"),
                    ));
                }
                if !op_accepts(compare_class(op), lhs_ty) || !op_accepts(compare_class(op), rhs_ty)
                {
                    return Err(self.type_error(
                        start,
                        format!("illegal operation for the given types: {filter}"),
                    ));
                }
                Ok(filter)
            }
            (ScalarOperand::Literal(_), _) => {
                Err(self.unsupported(start, "scalar filter with a literal on the left"))
            }
            (ScalarOperand::Aggregate(_), ScalarOperand::Aggregate(_)) => {
                Err(self.unsupported(rhs_pos, "scalar filter comparing two aggregates"))
            }
        }
    }

    fn reject_scalar_arithmetic(&self) -> Result<(), ParseError> {
        match self.peek() {
            Tok::Add | Tok::Sub | Tok::Mul | Tok::Div | Tok::Mod | Tok::Pow => {
                Err(self.unsupported(self.here(), "arithmetic between scalar expressions"))
            }
            _ => Ok(()),
        }
    }

    fn scalar_operand(&mut self) -> Result<ScalarOperand, ParseError> {
        let pos = self.here();
        let make: fn(FieldExpr) -> Aggregate = match self.peek() {
            Tok::Kw(Keyword::Count) => {
                self.advance();
                self.expect(Tok::LParen)?;
                self.expect(Tok::RParen)?;
                return Ok(ScalarOperand::Aggregate(Aggregate::Count));
            }
            Tok::Kw(Keyword::Avg) => Aggregate::Avg,
            Tok::Kw(Keyword::Min) => Aggregate::Min,
            Tok::Kw(Keyword::Max) => Aggregate::Max,
            Tok::Kw(Keyword::Sum) => Aggregate::Sum,
            Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) => {
                return Ok(ScalarOperand::Literal(self.number_literal(false)?));
            }
            Tok::Sub => {
                self.advance();
                return Ok(ScalarOperand::Literal(self.number_literal(true)?));
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        self.expect(Tok::LParen)?;
        let expr = self.field_expr()?;
        self.expect(Tok::RParen)?;
        let aggregate = make(expr);
        if let Some(e) = aggregate.field() {
            let ty = implied_type(e);
            if ty != Ty::Attribute && !ty.is_numeric() {
                return Err(self.type_error(
                    pos,
                    format!(
                        "aggregate field expressions must resolve to a number type: {aggregate}"
                    ),
                ));
            }
            if !e.references_span() {
                return Err(self.type_error(
                    pos,
                    format!("aggregate field expressions must reference the span: {aggregate}"),
                ));
            }
        }
        Ok(ScalarOperand::Aggregate(aggregate))
    }

    /// An integer, float or duration token, optionally negated.
    fn number_literal(&mut self, negate: bool) -> Result<Literal, ParseError> {
        let literal = match self.peek() {
            Tok::Int(n) => Literal::Int(if negate { n.wrapping_neg() } else { *n }),
            Tok::Float(x) => Literal::Float(if negate { -x } else { *x }),
            Tok::Duration(d) => Literal::Duration(if negate { d.wrapping_neg() } else { *d }),
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(literal)
    }

    // ----- spanset expressions -------------------------------------------------------

    /// `&&` and `||` between spansets, left-associative at one level.
    fn spanset_expr(&mut self) -> Result<SpansetExpr, ParseError> {
        let start = self.here();
        let mut lhs = self.spanset_relation()?;
        loop {
            let op = match self.peek() {
                Tok::And => SpansetOp::And,
                Tok::Or => SpansetOp::Or,
                _ => return Ok(lhs),
            };
            self.advance();
            let rhs = self.spanset_relation()?;
            lhs = self.spanset_op(op, lhs, rhs, start)?;
        }
    }

    /// Structural operators, binding tighter than `&&`/`||`.
    fn spanset_relation(&mut self) -> Result<SpansetExpr, ParseError> {
        let start = self.here();
        let mut lhs = self.spanset_primary()?;
        while let Some(op) = structural_op(self.peek()) {
            self.advance();
            let rhs = self.spanset_primary()?;
            lhs = self.spanset_op(op, lhs, rhs, start)?;
        }
        Ok(lhs)
    }

    fn spanset_op(
        &self,
        op: SpansetOp,
        lhs: SpansetExpr,
        rhs: SpansetExpr,
        pos: Pos,
    ) -> Result<SpansetExpr, ParseError> {
        if structural_over_groups(op, &lhs, &rhs) {
            return Err(self.unsupported(
                pos,
                "structural operators on grouped spansets (add coalesce())",
            ));
        }
        Ok(SpansetExpr::Op {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn spanset_primary(&mut self) -> Result<SpansetExpr, ParseError> {
        match self.peek() {
            Tok::LBrace => {
                let pos = self.here();
                self.advance();
                if self.at(&Tok::RBrace) {
                    self.advance();
                    return Ok(SpansetExpr::Filter(FieldExpr::Literal(Literal::Bool(true))));
                }
                let expr = self.field_expr()?;
                self.expect(Tok::RBrace)?;
                let ty = implied_type(&expr);
                if ty != Ty::Bool && ty != Ty::Attribute {
                    return Err(self.type_error(
                        pos,
                        format!(
                            "span filter field expressions must resolve to a boolean: {{ {expr} }}"
                        ),
                    ));
                }
                Ok(SpansetExpr::Filter(expr))
            }
            Tok::LParen => {
                self.advance();
                let mut pipeline = self.pipeline(true)?;
                self.expect(Tok::RParen)?;
                // Parentheses around a plain spanset expression are only grouping.
                if pipeline.stages.len() == 1
                    && matches!(pipeline.stages[0], Stage::Spanset(_))
                    && let Some(Stage::Spanset(expr)) = pipeline.stages.pop()
                {
                    return Ok(expr);
                }
                Ok(SpansetExpr::Pipeline(Box::new(pipeline)))
            }
            _ => Err(self.unexpected()),
        }
    }

    // ----- field expressions ---------------------------------------------------------

    fn field_expr(&mut self) -> Result<FieldExpr, ParseError> {
        self.binary(1)
    }

    /// Precedence climbing over [`BinOp`].
    fn binary(&mut self, min_precedence: u8) -> Result<FieldExpr, ParseError> {
        let start = self.here();
        let mut lhs = self.unary()?;
        while let Some((op, precedence)) = BinOp::from_tok(self.peek()) {
            if precedence < min_precedence {
                break;
            }
            self.advance();
            let rhs_pos = self.here();
            let right_assoc = matches!(op, BinOp::Arith(ArithOp::Pow));
            let rhs = self.binary(if right_assoc {
                precedence
            } else {
                precedence + 1
            })?;
            lhs = self.combine(op, lhs, rhs, start, rhs_pos)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<FieldExpr, ParseError> {
        let pos = self.here();
        match self.peek() {
            Tok::Not => {
                self.advance();
                let operand = self.binary(PREFIX_OPERAND_PRECEDENCE)?;
                let ty = implied_type(&operand);
                let expr = FieldExpr::Not(Box::new(operand));
                if ty != Ty::Bool && ty != Ty::Attribute {
                    return Err(self
                        .type_error(pos, format!("illegal operation for the given type: {expr}")));
                }
                Ok(expr)
            }
            Tok::Sub => {
                self.advance();
                let operand = self.binary(PREFIX_OPERAND_PRECEDENCE)?;
                // `-5` is a literal, as Tempo's grammar folds it.
                let folded = match operand {
                    FieldExpr::Literal(Literal::Int(n)) => Literal::Int(n.wrapping_neg()),
                    FieldExpr::Literal(Literal::Float(x)) => Literal::Float(-x),
                    FieldExpr::Literal(Literal::Duration(d)) => Literal::Duration(d.wrapping_neg()),
                    other => {
                        let ty = implied_type(&other);
                        let expr = FieldExpr::Neg(Box::new(other));
                        if ty != Ty::Attribute && !ty.is_numeric() {
                            return Err(self.type_error(
                                pos,
                                format!("illegal operation for the given type: {expr}"),
                            ));
                        }
                        return Ok(expr);
                    }
                };
                Ok(FieldExpr::Literal(folded))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<FieldExpr, ParseError> {
        let literal = match self.peek() {
            Tok::LParen => {
                self.advance();
                let expr = self.field_expr()?;
                self.expect(Tok::RParen)?;
                return Ok(expr);
            }
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Int(n) => Literal::Int(*n),
            Tok::Float(x) => Literal::Float(*x),
            Tok::Duration(d) => Literal::Duration(*d),
            Tok::Kw(k) => match keyword_literal(*k) {
                Some(literal) => literal,
                None => return self.field().map(FieldExpr::Field),
            },
            Tok::Attr { .. } | Tok::Colon(_) => return self.field().map(FieldExpr::Field),
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(FieldExpr::Literal(literal))
    }

    /// Builds a binary node after Tempo's type checks.
    fn combine(
        &self,
        op: BinOp,
        lhs: FieldExpr,
        rhs: FieldExpr,
        pos: Pos,
        rhs_pos: Pos,
    ) -> Result<FieldExpr, ParseError> {
        let (lt, rt) = (implied_type(&lhs), implied_type(&rhs));
        let expr = match op {
            BinOp::And => FieldExpr::And(Box::new(lhs), Box::new(rhs)),
            BinOp::Or => FieldExpr::Or(Box::new(lhs), Box::new(rhs)),
            BinOp::Arith(op) => FieldExpr::Arith {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            BinOp::Compare(op @ (CompareOp::Eq | CompareOp::Neq))
                if lt == Ty::Nil && matches!(lhs, FieldExpr::Literal(_))
                    || rt == Ty::Nil && matches!(rhs, FieldExpr::Literal(_)) =>
            {
                return Ok(nil_comparison(op, lhs, rhs));
            }
            BinOp::Compare(op) => {
                if lt == Ty::Nil || rt == Ty::Nil {
                    // `parent` compared with anything but the nil literal.
                    let uses_parent = [&lhs, &rhs].iter().any(|e| {
                        matches!(e, FieldExpr::Field(Field::Intrinsic(Intrinsic::Parent)))
                    });
                    if uses_parent && lt != rt {
                        return Err(self.unsupported(pos, "comparing parent with anything but nil"));
                    }
                }
                FieldExpr::Compare {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                }
            }
            BinOp::Regex { negated } => {
                // Type errors first, so `name =~ 1` reads like Tempo.
                let tentative = format!(
                    "{} {} {}",
                    operand_text(&lhs),
                    if negated { "!~" } else { "=~" },
                    operand_text(&rhs)
                );
                self.check_types(OpClass::Regex, lt, rt, pos, &tentative)?;
                let FieldExpr::Literal(Literal::Str(source)) = &rhs else {
                    return Err(self.unsupported(
                        rhs_pos,
                        "regular expressions that are not a string literal",
                    ));
                };
                let pattern = Pattern::new(source).map_err(|e| ParseError::InvalidRegex {
                    pattern: source.clone(),
                    reason: first_line(&e.to_string()),
                    line: rhs_pos.0,
                    col: rhs_pos.1,
                })?;
                return Ok(FieldExpr::Regex {
                    lhs: Box::new(lhs),
                    negated,
                    pattern,
                });
            }
        };
        let class = match op {
            BinOp::And | BinOp::Or => OpClass::Logical,
            BinOp::Compare(CompareOp::Eq | CompareOp::Neq) => OpClass::Equality,
            BinOp::Compare(_) => OpClass::Ordering,
            BinOp::Arith(_) => OpClass::Arithmetic,
            BinOp::Regex { .. } => OpClass::Regex,
        };
        self.check_types(class, lt, rt, pos, &expr.to_string())?;
        Ok(expr)
    }

    fn check_types(
        &self,
        class: OpClass,
        lt: Ty,
        rt: Ty,
        pos: Pos,
        text: &str,
    ) -> Result<(), ParseError> {
        if !lt.matches(rt) {
            return Err(self.type_error(
                pos,
                format!("binary operations must operate on the same type: {text}"),
            ));
        }
        if !op_accepts(class, lt) || !op_accepts(class, rt) {
            return Err(self.type_error(
                pos,
                format!("illegal operation for the given types: {text}"),
            ));
        }
        Ok(())
    }

    // ----- fields --------------------------------------------------------------------

    fn field_list(&mut self) -> Result<Vec<Field>, ParseError> {
        let mut fields = vec![self.field()?];
        while self.at(&Tok::Comma) {
            self.advance();
            fields.push(self.field()?);
        }
        Ok(fields)
    }

    /// An attribute, an intrinsic, or a scoped intrinsic (`span:id`).
    fn field(&mut self) -> Result<Field, ParseError> {
        let pos = self.here();
        let intrinsic = match self.peek().clone() {
            Tok::Attr { prefix, name } => {
                let Some(name) = name else {
                    return Err(self.unexpected());
                };
                let scope = match prefix {
                    AttrPrefix::Dot => AttributeScope::Unscoped,
                    AttrPrefix::Span => AttributeScope::Span,
                    AttrPrefix::Resource => AttributeScope::Resource,
                    AttrPrefix::Event => AttributeScope::Event,
                    AttrPrefix::Link => AttributeScope::Link,
                    AttrPrefix::Instrumentation => AttributeScope::Instrumentation,
                    AttrPrefix::Parent => return Err(self.unsupported(pos, "parent")),
                };
                self.advance();
                return Ok(Field::Attribute(Attribute { scope, name }));
            }
            Tok::Kw(k) => match k {
                Keyword::Duration => Intrinsic::Duration,
                Keyword::ChildCount => Intrinsic::ChildCount,
                Keyword::Name => Intrinsic::Name,
                Keyword::Status => Intrinsic::Status,
                Keyword::StatusMessage => Intrinsic::StatusMessage,
                Keyword::Kind => Intrinsic::Kind,
                Keyword::Parent => Intrinsic::Parent,
                Keyword::RootName => Intrinsic::RootName,
                Keyword::RootServiceName => Intrinsic::RootServiceName,
                Keyword::TraceDuration => Intrinsic::TraceDuration,
                Keyword::NestedSetLeft | Keyword::NestedSetRight | Keyword::NestedSetParent => {
                    return Err(self.unsupported(pos, format!("intrinsic ({})", k.spelling())));
                }
                _ => return Err(self.unexpected()),
            },
            Tok::Colon(scope) => {
                self.advance();
                let Tok::Kw(k) = self.peek().clone() else {
                    return Err(self.unexpected());
                };
                match scoped_intrinsic(scope, k) {
                    Some(i) => i,
                    None => return Err(self.unexpected()),
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(Field::Intrinsic(intrinsic))
    }

    // ----- metrics and hints ---------------------------------------------------------

    fn metrics_stage(&mut self) -> Result<MetricsStage, ParseError> {
        let pos = self.here();
        let Tok::Kw(keyword) = self.peek().clone() else {
            return Err(self.unexpected());
        };
        if keyword == Keyword::Compare {
            return Err(self.unsupported(pos, "compare()"));
        }
        self.advance();
        self.expect(Tok::LParen)?;
        let function = match keyword {
            Keyword::Rate => MetricsFunction::Rate,
            Keyword::CountOverTime => MetricsFunction::CountOverTime,
            Keyword::QuantileOverTime => {
                let field = self.field()?;
                let mut quantiles = Vec::new();
                loop {
                    self.expect(Tok::Comma)?;
                    let q_pos = self.here();
                    let q = match self.peek() {
                        Tok::Int(n) => *n as f64,
                        Tok::Float(x) => *x,
                        _ => return Err(self.unexpected()),
                    };
                    self.advance();
                    if !(0.0..=1.0).contains(&q) {
                        return Err(self
                            .type_error(q_pos, format!("quantile must be between 0 and 1: {q}")));
                    }
                    quantiles.push(q);
                    if !self.at(&Tok::Comma) {
                        break;
                    }
                }
                MetricsFunction::QuantileOverTime(field, quantiles)
            }
            other => {
                let field = self.field()?;
                match other {
                    Keyword::MinOverTime => MetricsFunction::MinOverTime(field),
                    Keyword::MaxOverTime => MetricsFunction::MaxOverTime(field),
                    Keyword::AvgOverTime => MetricsFunction::AvgOverTime(field),
                    Keyword::SumOverTime => MetricsFunction::SumOverTime(field),
                    _ => MetricsFunction::HistogramOverTime(field),
                }
            }
        };
        self.expect(Tok::RParen)?;
        let mut by = Vec::new();
        if self.at(&Tok::Kw(Keyword::By)) {
            let by_pos = self.here();
            self.advance();
            self.expect(Tok::LParen)?;
            by = self.field_list()?;
            self.expect(Tok::RParen)?;
            // Quantiles and histograms reserve one label for the bucket.
            let limit = match function {
                MetricsFunction::QuantileOverTime(..) | MetricsFunction::HistogramOverTime(_) => {
                    MAX_GROUP_BYS - 1
                }
                _ => MAX_GROUP_BYS,
            };
            if by.len() > limit {
                return Err(
                    self.unsupported(by_pos, format!("metrics group by {} values", by.len()))
                );
            }
        }
        Ok(MetricsStage { function, by })
    }

    /// `with(name=value, ...)`; only hints this implementation honours are accepted.
    fn hints(&mut self, out: &mut Vec<Hint>) -> Result<(), ParseError> {
        self.advance();
        self.expect(Tok::LParen)?;
        loop {
            let pos = self.here();
            let Tok::Ident(name) = self.peek().clone() else {
                return Err(self.unexpected());
            };
            self.advance();
            self.expect(Tok::Eq)?;
            let value = match self.peek() {
                Tok::Str(s) => Literal::Str(s.clone()),
                Tok::Int(n) => Literal::Int(*n),
                Tok::Float(x) => Literal::Float(*x),
                Tok::Duration(d) => Literal::Duration(*d),
                Tok::Kw(k) => keyword_literal(*k).ok_or_else(|| self.unexpected())?,
                _ => return Err(self.unexpected()),
            };
            self.advance();
            let valid = match name.as_str() {
                "exemplars" => matches!(value, Literal::Bool(_) | Literal::Int(0..)),
                "most_recent" => matches!(value, Literal::Bool(_)),
                _ => return Err(self.unsupported(pos, format!("query hint {name:?}"))),
            };
            if !valid {
                return Err(
                    self.type_error(pos, format!("invalid value for query hint {name}: {value}"))
                );
            }
            out.push(Hint { name, value });
            if !self.at(&Tok::Comma) {
                break;
            }
            self.advance();
        }
        self.expect(Tok::RParen)?;
        Ok(())
    }
}

fn compare_class(op: CompareOp) -> OpClass {
    match op {
        CompareOp::Eq | CompareOp::Neq => OpClass::Equality,
        _ => OpClass::Ordering,
    }
}

/// `x = nil` / `x != nil` and the degenerate `nil = nil`.
fn nil_comparison(op: CompareOp, lhs: FieldExpr, rhs: FieldExpr) -> FieldExpr {
    let is_nil = |e: &FieldExpr| matches!(e, FieldExpr::Literal(Literal::Nil));
    let negated = op == CompareOp::Eq;
    match (is_nil(&lhs), is_nil(&rhs)) {
        // Tempo: `nil = nil` and `nil != nil` are both false.
        (true, true) => FieldExpr::Literal(Literal::Bool(false)),
        (true, false) => FieldExpr::Exists {
            expr: Box::new(rhs),
            negated,
        },
        _ => FieldExpr::Exists {
            expr: Box::new(lhs),
            negated,
        },
    }
}

fn operand_text(e: &FieldExpr) -> String {
    match e {
        FieldExpr::Literal(_) | FieldExpr::Field(_) => e.to_string(),
        _ => format!("({e})"),
    }
}

/// The regex crate's error without its multi-line caret diagram.
fn first_line(s: &str) -> String {
    let last = s
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(s);
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

fn keyword_literal(k: Keyword) -> Option<Literal> {
    Some(match k {
        Keyword::True => Literal::Bool(true),
        Keyword::False => Literal::Bool(false),
        Keyword::Nil => Literal::Nil,
        Keyword::StatusOk => Literal::Status(Status::Ok),
        Keyword::StatusError => Literal::Status(Status::Error),
        Keyword::StatusUnset => Literal::Status(Status::Unset),
        Keyword::KindUnspecified => Literal::Kind(Kind::Unspecified),
        Keyword::KindInternal => Literal::Kind(Kind::Internal),
        Keyword::KindServer => Literal::Kind(Kind::Server),
        Keyword::KindClient => Literal::Kind(Kind::Client),
        Keyword::KindProducer => Literal::Kind(Kind::Producer),
        Keyword::KindConsumer => Literal::Kind(Kind::Consumer),
        _ => return None,
    })
}

fn scoped_intrinsic(scope: ColonScope, k: Keyword) -> Option<Intrinsic> {
    Some(match (scope, k) {
        (ColonScope::Trace, Keyword::Duration) => Intrinsic::TraceDuration,
        (ColonScope::Trace, Keyword::RootName) => Intrinsic::RootName,
        (ColonScope::Trace, Keyword::RootService) => Intrinsic::RootServiceName,
        (ColonScope::Trace, Keyword::Id) => Intrinsic::TraceId,
        (ColonScope::Span, Keyword::Duration) => Intrinsic::Duration,
        (ColonScope::Span, Keyword::Name) => Intrinsic::Name,
        (ColonScope::Span, Keyword::Kind) => Intrinsic::Kind,
        (ColonScope::Span, Keyword::Status) => Intrinsic::Status,
        (ColonScope::Span, Keyword::StatusMessage) => Intrinsic::StatusMessage,
        (ColonScope::Span, Keyword::Id) => Intrinsic::SpanId,
        (ColonScope::Span, Keyword::ParentId) => Intrinsic::ParentId,
        (ColonScope::Span, Keyword::ChildCount) => Intrinsic::ChildCount,
        (ColonScope::Event, Keyword::Name) => Intrinsic::EventName,
        (ColonScope::Event, Keyword::TimeSinceStart) => Intrinsic::EventTimeSinceStart,
        (ColonScope::Link, Keyword::TraceId) => Intrinsic::LinkTraceId,
        (ColonScope::Link, Keyword::SpanId) => Intrinsic::LinkSpanId,
        (ColonScope::Instrumentation, Keyword::Name) => Intrinsic::InstrumentationName,
        (ColonScope::Instrumentation, Keyword::Version) => Intrinsic::InstrumentationVersion,
        _ => return None,
    })
}
