//===- Parser.cpp - Recursive-descent parser of .rnn files -----------------===//
#include "rnnc/Parser.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSwitch.h"

#include <limits>

using namespace rnnc;

/// Sizes (vocabularies, dimensions, class counts) must fit token ids and
/// shapes in 32 bits.
static constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

/// Reports an error while `tok` is the current token, unless it is an invalid
/// token: the lexer has already reported the real problem there. Returns false.
static bool report(Diagnostics &diag, const Token &tok, llvm::SMLoc loc, const llvm::Twine &msg) {
  if (tok.is(Token::error))
    return false;
  return diag.error(loc, msg);
}

/// Reports that `tok` neither continues nor closes the bracket opened at
/// `openLoc` (a '(' or '[' starting `what`), with a note at the opening.
static bool reportUnclosed(Diagnostics &diag, const Token &tok, llvm::SMLoc openLoc,
                           Token::Kind open, const llvm::Twine &what) {
  if (tok.is(Token::error))
    return false;
  Token::Kind close = open == Token::l_paren ? Token::r_paren : Token::r_square;
  diag.error(tok.getLoc(), "expected ',' or " + describe(close) + " in " + what + ", found " +
                               describe(tok.kind));
  diag.note(openLoc, "to match this " + describe(open));
  return false;
}

/// Nesting depth of Parser::parseValue() (lists and calls), bounded to keep the
/// stack small on pathological input.
static thread_local unsigned valueDepth = 0;
static constexpr unsigned kMaxNesting = 64;

/// Whether an integer token is above kMaxSize (or does not fit 64 bits).
static bool isTooLarge(const Token &tok) {
  int64_t v;
  if (tok.spelling.getAsInteger(10, v))
    return !tok.spelling.starts_with("-");
  return v > kMaxSize;
}

void Parser::consume() {
  tok = peekTok;
  if (!tok.is(Token::eof))
    peekTok = lexer.lex();
}

bool Parser::expect(Token::Kind kind, llvm::StringRef context) {
  if (tok.is(kind)) {
    consume();
    return true;
  }
  return report(diag, tok, tok.getLoc(),
                "expected " + describe(kind) + " " + context + ", found " + describe(tok.kind));
}

void Parser::skipToEndOfLine() {
  while (!tok.is(Token::newline) && !tok.is(Token::eof))
    consume();
}

bool Parser::expectEndOfStatement() {
  if (tok.is(Token::newline) || tok.is(Token::eof) || tok.is(Token::r_brace))
    return true;
  return report(diag, tok, tok.getLoc(),
                "expected end of line after statement, found " + describe(tok.kind));
}

std::unique_ptr<ModuleAST> Parser::parseModule() {
  auto module = std::make_unique<ModuleAST>();
  while (!tok.is(Token::eof)) {
    if (tok.is(Token::newline)) {
      consume();
      continue;
    }
    unsigned before = diag.getNumErrors();
    auto stmt = parseStatement(/*inDecoder=*/false);
    if (stmt && !expectEndOfStatement())
      stmt = nullptr;
    if (!stmt) {
      if (diag.getNumErrors() == before)
        report(diag, tok, tok.getLoc(), "invalid statement");
      skipToEndOfLine();
      continue;
    }
    module->stmts.push_back(std::move(stmt));
  }
  if (diag.getNumErrors())
    return nullptr;
  return module;
}

std::unique_ptr<StmtAST> Parser::parseStatement(bool inDecoder) {
  llvm::SMLoc loc = tok.getLoc();
  switch (tok.kind) {
  case Token::kw_model: {
    consume();
    std::string name(tok.spelling);
    if (!expect(Token::identifier, "after 'model'"))
      return nullptr;
    return std::make_unique<ModelStmt>(loc, name);
  }
  case Token::kw_vocab:
    return parseVocab();
  case Token::kw_input:
    return parseDecl(false);
  case Token::kw_target:
    return parseDecl(true);
  case Token::kw_output:
    return parseOutput();
  case Token::kw_loss:
    return parseLoss();
  case Token::kw_train:
    return parseTrain();
  case Token::kw_decoder:
    if (inDecoder) {
      report(diag, tok, loc, "a decoder cannot be nested in another decoder");
      return nullptr;
    }
    return parseDecoder();
  case Token::kw_next: {
    if (!inDecoder) {
      report(diag, tok, loc, "'next' is only allowed inside a decoder body");
      return nullptr;
    }
    consume();
    auto stmt = std::make_unique<NextStmt>(loc);
    auto v = parseValue();
    if (!v)
      return nullptr;
    stmt->value = std::move(*v);
    return stmt;
  }
  case Token::identifier:
    // `NAME = ...` or `a, b = ...`; two names in a row are most likely a
    // misspelt statement keyword (`modle m`, `inptu x : ...`).
    if (peekTok.is(Token::identifier)) {
      std::string msg = "unknown statement '" + tok.spelling.str() +
                        "' (expected model, vocab, input, target, output, loss, train, "
                        "decoder or a binding 'name = ...')";
      for (llvm::StringRef kw :
           {"model", "vocab", "input", "target", "output", "loss", "train", "decoder", "next"})
        if (tok.spelling.edit_distance(kw) <= 2 && tok.spelling.size() > 2) {
          msg = "unknown statement '" + tok.spelling.str() + "'; did you mean '" + kw.str() + "'?";
          break;
        }
      report(diag, tok, loc, msg);
      return nullptr;
    }
    return parseBinding();
  case Token::error:
    return nullptr;
  default:
    report(diag, tok, loc,
           "expected a statement (model, vocab, input, target, output, loss, train, "
           "decoder or a binding 'name = ...'), found " +
               describe(tok.kind));
    return nullptr;
  }
}

std::unique_ptr<StmtAST> Parser::parseVocab() {
  auto stmt = std::make_unique<VocabStmt>(tok.getLoc());
  consume();
  stmt->name = std::string(tok.spelling);
  if (!expect(Token::identifier, "after 'vocab'") ||
      !expect(Token::equal, "after the vocab name"))
    return nullptr;
  stmt->valueLoc = tok.getLoc();
  if (tok.is(Token::string)) {
    stmt->source = VocabStmt::Chars;
    stmt->text = tok.strValue;
    consume();
    return stmt;
  }
  if (tok.is(Token::identifier) && tok.spelling == "file") {
    consume();
    if (!expect(Token::l_paren, "after 'file'"))
      return nullptr;
    if (!tok.is(Token::string)) {
      report(diag, tok, tok.getLoc(), "expected a file name string in file(...)");
      return nullptr;
    }
    stmt->source = VocabStmt::File;
    stmt->text = tok.strValue;
    stmt->valueLoc = tok.getLoc();
    consume();
    if (!expect(Token::r_paren, "after the file name"))
      return nullptr;
    return stmt;
  }
  if (tok.is(Token::identifier) && tok.spelling == "size") {
    consume();
    stmt->source = VocabStmt::Size;
    stmt->valueLoc = tok.getLoc();
    if (!tok.is(Token::integer)) {
      report(diag, tok, tok.getLoc(), "expected the vocabulary size (an integer) after 'size'");
      return nullptr;
    }
    if (isTooLarge(tok)) {
      report(diag, tok, tok.getLoc(),
             "vocabulary size is too large (at most " + llvm::Twine(kMaxSize) + ")");
      return nullptr;
    }
    if (tok.spelling.getAsInteger(10, stmt->size) || stmt->size <= 0) {
      report(diag, tok, tok.getLoc(), "vocabulary size must be a positive integer");
      return nullptr;
    }
    consume();
    return stmt;
  }
  report(diag, tok, tok.getLoc(),
         "expected a string of characters, file(\"...\") or "
         "size N after 'vocab " +
             stmt->name + " ='");
  return nullptr;
}

std::optional<TypeAST> Parser::parseType() {
  TypeAST type;
  type.loc = tok.getLoc();
  if (!tok.is(Token::identifier)) {
    report(diag, tok, tok.getLoc(),
           "expected a type (tokens[...] of V, class[...] of N, "
           "f32[...] or lengths[...]), found " +
               describe(tok.kind));
    return std::nullopt;
  }
  auto kind = llvm::StringSwitch<std::optional<TypeAST::Kind>>(tok.spelling)
                  .Case("tokens", TypeAST::Tokens)
                  .Case("class", TypeAST::Class)
                  .Case("f32", TypeAST::F32)
                  .Case("lengths", TypeAST::Lengths)
                  .Default(std::nullopt);
  if (!kind) {
    report(diag, tok, tok.getLoc(),
           "unknown type '" + tok.spelling + "' (expected tokens, class, f32 or lengths)");
    return std::nullopt;
  }
  type.kind = *kind;
  consume();
  llvm::SMLoc openLoc = tok.getLoc();
  if (!expect(Token::l_square, "to open the shape"))
    return std::nullopt;
  do {
    DimAST dim;
    dim.loc = tok.getLoc();
    if (tok.is(Token::identifier)) {
      dim.symbol = std::string(tok.spelling);
    } else if (tok.is(Token::integer)) {
      if (isTooLarge(tok)) {
        report(diag, tok, tok.getLoc(),
               "dimension size is too large (at most " + llvm::Twine(kMaxSize) + ")");
        return std::nullopt;
      }
      if (tok.spelling.getAsInteger(10, dim.size) || dim.size <= 0) {
        report(diag, tok, tok.getLoc(), "dimension sizes must be positive integers");
        return std::nullopt;
      }
    } else {
      report(diag, tok, tok.getLoc(),
             "expected a dimension (a name such as B or a size), found " + describe(tok.kind));
      return std::nullopt;
    }
    consume();
    type.dims.push_back(dim);
  } while (tok.is(Token::comma) && (consume(), true));
  if (!tok.is(Token::r_square)) {
    reportUnclosed(diag, tok, openLoc, Token::l_square, "the shape");
    return std::nullopt;
  }
  consume();
  if (type.kind == TypeAST::Tokens || type.kind == TypeAST::Class) {
    if (!tok.is(Token::kw_of)) {
      report(diag, tok, tok.getLoc(),
             type.kind == TypeAST::Tokens
                 ? "expected 'of VOCAB' after tokens[...], found " + describe(tok.kind)
                 : "expected 'of VOCAB' or 'of N' after class[...], found " + describe(tok.kind));
      return std::nullopt;
    }
    consume();
    type.ofLoc = tok.getLoc();
    if (tok.is(Token::identifier)) {
      type.of = std::string(tok.spelling);
    } else if (tok.is(Token::integer) && type.kind == TypeAST::Class) {
      if (isTooLarge(tok)) {
        report(diag, tok, tok.getLoc(),
               "class count is too large (at most " + llvm::Twine(kMaxSize) + ")");
        return std::nullopt;
      }
      if (tok.spelling.getAsInteger(10, type.classes) || type.classes < 2) {
        report(diag, tok, tok.getLoc(), "a class count must be an integer of at least 2");
        return std::nullopt;
      }
    } else {
      report(diag, tok, tok.getLoc(),
             type.kind == TypeAST::Class ? "expected a vocabulary name or a class count after 'of'"
                                         : "expected a vocabulary name after 'of'");
      return std::nullopt;
    }
    consume();
  }
  return type;
}

std::unique_ptr<StmtAST> Parser::parseDecl(bool isTarget) {
  auto stmt = std::make_unique<DeclStmt>(tok.getLoc(), isTarget);
  consume();
  stmt->name = std::string(tok.spelling);
  if (!expect(Token::identifier, isTarget ? "after 'target'" : "after 'input'") ||
      !expect(Token::colon, "after the name"))
    return nullptr;
  auto type = parseType();
  if (!type)
    return nullptr;
  stmt->type = std::move(*type);
  return stmt;
}

std::unique_ptr<StmtAST> Parser::parseBinding() {
  auto stmt = std::make_unique<BindingStmt>(tok.getLoc());
  while (true) {
    if (!tok.is(Token::identifier)) {
      report(diag, tok, tok.getLoc(), "expected a name to bind, found " + describe(tok.kind));
      return nullptr;
    }
    stmt->names.push_back({std::string(tok.spelling), tok.getLoc()});
    consume();
    if (!tok.is(Token::comma))
      break;
    consume();
  }
  if (!expect(Token::equal, "after the bound name(s)"))
    return nullptr;
  auto v = parseValue();
  if (!v)
    return nullptr;
  stmt->value = std::move(*v);
  return stmt;
}

std::unique_ptr<StmtAST> Parser::parseOutput() {
  auto stmt = std::make_unique<OutputStmt>(tok.getLoc());
  consume();
  stmt->name = std::string(tok.spelling);
  if (!expect(Token::identifier, "after 'output'") ||
      !expect(Token::equal, "after the output name"))
    return nullptr;
  auto v = parseValue();
  if (!v)
    return nullptr;
  stmt->value = std::move(*v);
  return stmt;
}

std::unique_ptr<StmtAST> Parser::parseLoss() {
  auto stmt = std::make_unique<LossStmt>(tok.getLoc());
  consume();
  if (!tok.is(Token::identifier)) {
    report(diag, tok, tok.getLoc(),
           "expected a loss such as cross_entropy(logits, y) after 'loss'");
    return nullptr;
  }
  std::string name(tok.spelling);
  llvm::SMLoc loc = tok.getLoc();
  consume();
  auto call = parseCallAfterName(name, loc);
  if (!call)
    return nullptr;
  stmt->call = std::move(*call);
  return stmt;
}

std::unique_ptr<StmtAST> Parser::parseTrain() {
  auto stmt = std::make_unique<TrainStmt>(tok.getLoc());
  consume();
  if (!parseOptions(stmt->options, "in 'train'", /*allowPositional=*/false))
    return nullptr;
  return stmt;
}

std::unique_ptr<StmtAST> Parser::parseDecoder() {
  auto stmt = std::make_unique<DecoderStmt>(tok.getLoc());
  consume();
  stmt->name = std::string(tok.spelling);
  // After an error in the header, skip the body too if the line opens it, so
  // that its statements are not reported as misplaced.
  auto skipBody = [&]() -> std::unique_ptr<StmtAST> {
    int braces = 0;
    while (!tok.is(Token::eof) && (braces > 0 || !tok.is(Token::newline))) {
      braces += tok.is(Token::l_brace) - tok.is(Token::r_brace);
      consume();
    }
    return nullptr;
  };
  if (!expect(Token::identifier, "after 'decoder'"))
    return skipBody();
  llvm::SMLoc openLoc = tok.getLoc();
  if (!expect(Token::l_paren, "after the decoder name"))
    return skipBody();
  if (!tok.is(Token::r_paren) && !parseOptions(stmt->options, "in the decoder options", false))
    return skipBody();
  if (!tok.is(Token::r_paren)) {
    reportUnclosed(diag, tok, openLoc, Token::l_paren, "the decoder options");
    return skipBody();
  }
  consume();
  if (!expect(Token::l_brace, "to open the decoder body"))
    return skipBody();
  bool failed = false;
  while (!tok.is(Token::r_brace)) {
    if (tok.is(Token::eof)) {
      diag.error(stmt->getLoc(), "decoder body is not closed with '}'");
      return nullptr;
    }
    if (tok.is(Token::newline)) {
      consume();
      continue;
    }
    auto inner = parseStatement(/*inDecoder=*/true);
    if (inner && expectEndOfStatement()) {
      stmt->body.push_back(std::move(inner));
      continue;
    }
    // Resynchronize at the next line of the body or at its '}', skipping any
    // braces the bad statement opened.
    failed = true;
    int braces = 0;
    while (!tok.is(Token::eof) &&
           (braces > 0 || !(tok.is(Token::newline) || tok.is(Token::r_brace)))) {
      braces += tok.is(Token::l_brace) - tok.is(Token::r_brace);
      consume();
    }
  }
  consume(); // '}'
  if (failed)
    return nullptr;
  return stmt;
}

bool Parser::parseOptions(std::vector<ArgAST> &out, llvm::StringRef context,
                          bool allowPositional) {
  while (true) {
    ArgAST arg;
    // Keywords are valid option names too (`decoder d(vocab=V, ...)`).
    if ((tok.is(Token::identifier) || tok.isKeyword()) && peekTok.is(Token::equal)) {
      arg.name = std::string(tok.spelling);
      arg.nameLoc = tok.getLoc();
      consume();
      consume();
    } else if (!allowPositional) {
      return report(diag, tok, tok.getLoc(),
                    "expected an option 'name=value' " + context + ", found " + describe(tok.kind));
    }
    auto v = parseValue();
    if (!v)
      return false;
    arg.value = std::move(*v);
    if (arg.name.empty())
      arg.nameLoc = arg.value.loc;
    out.push_back(std::move(arg));
    if (!tok.is(Token::comma))
      return true;
    consume();
  }
}

std::optional<CallAST> Parser::parseCallAfterName(std::string name, llvm::SMLoc loc) {
  CallAST call;
  call.callee = std::move(name);
  call.loc = loc;
  llvm::SMLoc openLoc = tok.getLoc();
  if (!expect(Token::l_paren, "after '" + call.callee + "'"))
    return std::nullopt;
  if (!tok.is(Token::r_paren) &&
      !parseOptions(call.args, "in the call of '" + call.callee + "'", true))
    return std::nullopt;
  if (!tok.is(Token::r_paren)) {
    reportUnclosed(diag, tok, openLoc, Token::l_paren, "the call of '" + call.callee + "'");
    return std::nullopt;
  }
  consume();
  return call;
}

std::optional<ValueAST> Parser::parseValue() {
  ValueAST v;
  v.loc = tok.getLoc();
  // Bound the recursion through nested lists and calls.
  if (valueDepth >= kMaxNesting) {
    report(diag, tok, tok.getLoc(),
           "values are nested too deeply (more than " + llvm::Twine(kMaxNesting) +
               " levels of lists and calls)");
    return std::nullopt;
  }
  ++valueDepth;
  llvm::scope_exit restoreDepth([] { --valueDepth; });
  switch (tok.kind) {
  case Token::integer:
    v.kind = ValueAST::Int;
    if (tok.spelling.getAsInteger(10, v.intValue)) {
      report(diag, tok, tok.getLoc(), "integer literal is too large");
      return std::nullopt;
    }
    consume();
    return v;
  case Token::floating: {
    v.kind = ValueAST::Float;
    if (tok.spelling.getAsDouble(v.floatValue)) {
      report(diag, tok, tok.getLoc(), "malformed number '" + tok.spelling + "'");
      return std::nullopt;
    }
    consume();
    return v;
  }
  case Token::string:
    v.kind = ValueAST::String;
    v.text = tok.strValue;
    consume();
    return v;
  case Token::kw_true:
  case Token::kw_false:
    v.kind = ValueAST::Bool;
    v.boolValue = tok.is(Token::kw_true);
    consume();
    return v;
  case Token::kw_none:
    v.kind = ValueAST::None;
    consume();
    return v;
  case Token::identifier: {
    std::string name(tok.spelling);
    consume();
    if (!tok.is(Token::l_paren)) {
      v.kind = ValueAST::Name;
      v.text = std::move(name);
      return v;
    }
    auto call = parseCallAfterName(name, v.loc);
    if (!call)
      return std::nullopt;
    v.kind = ValueAST::Call;
    v.text = call->callee;
    v.call = std::make_shared<CallAST>(std::move(*call));
    return v;
  }
  case Token::l_square: {
    llvm::SMLoc openLoc = tok.getLoc();
    consume();
    v.kind = ValueAST::List;
    while (!tok.is(Token::r_square)) {
      auto e = parseValue();
      if (!e)
        return std::nullopt;
      v.list.push_back(std::move(*e));
      if (!tok.is(Token::comma))
        break;
      consume();
    }
    if (!tok.is(Token::r_square)) {
      reportUnclosed(diag, tok, openLoc, Token::l_square, "the list");
      return std::nullopt;
    }
    consume();
    return v;
  }
  case Token::error:
    return std::nullopt;
  default:
    report(diag, tok, tok.getLoc(),
           "expected a value (a number, string, name, call or list), found " + describe(tok.kind));
    return std::nullopt;
  }
}
