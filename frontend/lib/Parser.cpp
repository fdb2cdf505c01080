//===- Parser.cpp - Recursive-descent parser of .rnn files -----------------===//
#include "rnnc/Parser.h"

#include "llvm/ADT/StringSwitch.h"

using namespace rnnc;

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
  if (tok.is(Token::error)) // the lexer already reported it
    return false;
  return diag.error(tok.getLoc(), "expected " + describe(kind) + " " + context +
                                      ", found " + describe(tok.kind));
}

void Parser::skipToEndOfLine() {
  while (!tok.is(Token::newline) && !tok.is(Token::eof))
    consume();
}

bool Parser::expectEndOfStatement() {
  if (tok.is(Token::newline) || tok.is(Token::eof) || tok.is(Token::r_brace))
    return true;
  if (tok.is(Token::error))
    return false;
  return diag.error(tok.getLoc(), "expected end of line after statement, found " +
                                      describe(tok.kind));
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
        diag.error(tok.getLoc(), "invalid statement");
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
      diag.error(loc, "a decoder cannot be nested in another decoder");
      return nullptr;
    }
    return parseDecoder();
  case Token::kw_next: {
    if (!inDecoder) {
      diag.error(loc, "'next' is only allowed inside a decoder body");
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
    return parseBinding();
  case Token::error:
    return nullptr;
  default:
    diag.error(loc, "expected a statement (model, vocab, input, target, a binding "
                    "'name = layer(...)', output, loss or train), found " +
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
      diag.error(tok.getLoc(), "expected a file name string in file(...)");
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
      diag.error(tok.getLoc(), "expected the vocabulary size (an integer) after 'size'");
      return nullptr;
    }
    if (tok.spelling.getAsInteger(10, stmt->size) || stmt->size <= 0) {
      diag.error(tok.getLoc(), "vocabulary size must be a positive integer");
      return nullptr;
    }
    consume();
    return stmt;
  }
  diag.error(tok.getLoc(), "expected a string of characters, file(\"...\") or "
                           "size N after 'vocab " + stmt->name + " ='");
  return nullptr;
}

std::optional<TypeAST> Parser::parseType() {
  TypeAST type;
  type.loc = tok.getLoc();
  if (!tok.is(Token::identifier)) {
    diag.error(tok.getLoc(), "expected a type (tokens[...] of V, class[...] of N, "
                             "f32[...] or lengths[...]), found " + describe(tok.kind));
    return std::nullopt;
  }
  auto kind = llvm::StringSwitch<std::optional<TypeAST::Kind>>(tok.spelling)
                  .Case("tokens", TypeAST::Tokens)
                  .Case("class", TypeAST::Class)
                  .Case("f32", TypeAST::F32)
                  .Case("lengths", TypeAST::Lengths)
                  .Default(std::nullopt);
  if (!kind) {
    diag.error(tok.getLoc(), "unknown type '" + tok.spelling +
                                 "' (expected tokens, class, f32 or lengths)");
    return std::nullopt;
  }
  type.kind = *kind;
  consume();
  if (!expect(Token::l_square, "to open the shape"))
    return std::nullopt;
  do {
    DimAST dim;
    dim.loc = tok.getLoc();
    if (tok.is(Token::identifier)) {
      dim.symbol = std::string(tok.spelling);
    } else if (tok.is(Token::integer)) {
      if (tok.spelling.getAsInteger(10, dim.size) || dim.size <= 0) {
        diag.error(tok.getLoc(), "dimension sizes must be positive integers");
        return std::nullopt;
      }
    } else {
      diag.error(tok.getLoc(), "expected a dimension (a name such as B or a size), found " +
                                   describe(tok.kind));
      return std::nullopt;
    }
    consume();
    type.dims.push_back(dim);
  } while (tok.is(Token::comma) && (consume(), true));
  if (!expect(Token::r_square, "to close the shape"))
    return std::nullopt;
  if (type.kind == TypeAST::Tokens || type.kind == TypeAST::Class) {
    if (!tok.is(Token::kw_of)) {
      diag.error(tok.getLoc(), std::string(type.kind == TypeAST::Tokens ? "tokens" : "class") +
                                   " types need 'of' and a vocabulary" +
                                   (type.kind == TypeAST::Class ? " or a class count" : ""));
      return std::nullopt;
    }
    consume();
    type.ofLoc = tok.getLoc();
    if (tok.is(Token::identifier)) {
      type.of = std::string(tok.spelling);
    } else if (tok.is(Token::integer) && type.kind == TypeAST::Class) {
      if (tok.spelling.getAsInteger(10, type.classes) || type.classes < 2) {
        diag.error(tok.getLoc(), "a class count must be an integer of at least 2");
        return std::nullopt;
      }
    } else {
      diag.error(tok.getLoc(), "expected a vocabulary name after 'of'");
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
      diag.error(tok.getLoc(), "expected a name to bind, found " + describe(tok.kind));
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
    diag.error(tok.getLoc(), "expected a loss such as cross_entropy(logits, y) after 'loss'");
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
  if (!expect(Token::identifier, "after 'decoder'") ||
      !expect(Token::l_paren, "after the decoder name"))
    return nullptr;
  if (!tok.is(Token::r_paren) &&
      !parseOptions(stmt->options, "in the decoder options", false))
    return nullptr;
  if (!expect(Token::r_paren, "to close the decoder options") ||
      !expect(Token::l_brace, "to open the decoder body"))
    return nullptr;
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
    if (!inner || !expectEndOfStatement())
      return nullptr;
    stmt->body.push_back(std::move(inner));
  }
  consume(); // '}'
  return stmt;
}

bool Parser::parseOptions(std::vector<ArgAST> &out, llvm::StringRef context,
                          bool allowPositional) {
  while (true) {
    ArgAST arg;
    if (tok.is(Token::identifier) && peekTok.is(Token::equal)) {
      arg.name = std::string(tok.spelling);
      arg.nameLoc = tok.getLoc();
      consume();
      consume();
    } else if (!allowPositional) {
      return diag.error(tok.getLoc(), "expected an option 'name=value' " + context +
                                          ", found " + describe(tok.kind));
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
  if (!expect(Token::l_paren, "after '" + call.callee + "'"))
    return std::nullopt;
  if (!tok.is(Token::r_paren) &&
      !parseOptions(call.args, "in the call of '" + call.callee + "'", true))
    return std::nullopt;
  if (!expect(Token::r_paren, "to close the call of '" + call.callee + "'"))
    return std::nullopt;
  return call;
}

std::optional<ValueAST> Parser::parseValue() {
  ValueAST v;
  v.loc = tok.getLoc();
  switch (tok.kind) {
  case Token::integer:
    v.kind = ValueAST::Int;
    if (tok.spelling.getAsInteger(10, v.intValue)) {
      diag.error(tok.getLoc(), "integer literal is too large");
      return std::nullopt;
    }
    consume();
    return v;
  case Token::floating: {
    v.kind = ValueAST::Float;
    if (tok.spelling.getAsDouble(v.floatValue)) {
      diag.error(tok.getLoc(), "malformed number");
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
    if (!expect(Token::r_square, "to close the list"))
      return std::nullopt;
    return v;
  }
  case Token::error:
    return std::nullopt;
  default:
    diag.error(tok.getLoc(), "expected a value (a number, string, name, call or list), found " +
                                 describe(tok.kind));
    return std::nullopt;
  }
}
