//===- Lexer.h - Tokens of the .rnn language ----------------------*- C++ -*-===//
#ifndef RNNC_LEXER_H
#define RNNC_LEXER_H

#include "rnnc/Diagnostics.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

#include <string>

namespace rnnc {

/// One token. Keywords are recognised once here (StringSwitch), never by
/// comparing identifier strings later.
struct Token {
  enum Kind {
    eof,
    error,
    newline,
    identifier,
    integer,
    floating,
    string,
    // punctuation
    equal,
    colon,
    comma,
    l_paren,
    r_paren,
    l_square,
    r_square,
    l_brace,
    r_brace,
    minus,
    // keywords
    kw_model,
    kw_vocab,
    kw_input,
    kw_target,
    kw_output,
    kw_loss,
    kw_train,
    kw_decoder,
    kw_next,
    kw_of,
    kw_true,
    kw_false,
    kw_none,
  };
  Kind kind = eof;
  llvm::StringRef spelling;
  std::string strValue; ///< unescaped contents of a string literal

  llvm::SMLoc getLoc() const { return llvm::SMLoc::getFromPointer(spelling.data()); }
  llvm::SMLoc getEndLoc() const {
    return llvm::SMLoc::getFromPointer(spelling.data() + spelling.size());
  }
  llvm::SMRange getRange() const { return {getLoc(), getEndLoc()}; }
  bool is(Kind k) const { return kind == k; }
  bool isKeyword() const { return kind >= kw_model; }
};

/// Splits a buffer into tokens. Newlines are significant (they end
/// statements) except inside parentheses and brackets; `#` starts a comment.
class Lexer {
public:
  Lexer(llvm::StringRef buffer, Diagnostics &diag);
  Token lex();

private:
  Token form(Token::Kind k, const char *start);
  Token lexIdentifier(const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  Token emitError(const char *loc, const llvm::Twine &msg);

  llvm::StringRef buffer;
  const char *cur;
  Diagnostics &diag;
  int nesting = 0; ///< depth of open ( and [
};

/// Human-readable description of a token kind, for "expected X" messages.
llvm::StringRef describe(Token::Kind kind);

} // namespace rnnc

#endif // RNNC_LEXER_H
