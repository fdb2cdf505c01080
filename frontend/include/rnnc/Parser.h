//===- Parser.h - Recursive-descent parser of .rnn files ----------*- C++ -*-===//
//
// Grammar (EBNF; docs/language.md has the full reference):
//
//   file      ::= { [ stmt ] NEWLINE } EOF
//   stmt      ::= 'model' IDENT
//               | 'vocab' IDENT '=' ( STRING | 'file' '(' STRING ')' | 'size' INT )
//               | ( 'input' | 'target' ) IDENT ':' type
//               | IDENT { ',' IDENT } '=' value
//               | 'output' IDENT '=' value
//               | 'loss' call
//               | 'train' option { ',' option }
//               | 'decoder' IDENT '(' [ option { ',' option } ] ')' '{' NEWLINE
//                     { [ stmt | 'next' value ] NEWLINE } '}'
//   type      ::= ( 'tokens' | 'class' ) shape 'of' ( IDENT | INT )
//               | ( 'f32' | 'lengths' ) shape
//   shape     ::= '[' dim { ',' dim } ']'          dim ::= IDENT | INT
//   call      ::= IDENT '(' [ arg { ',' arg } ] ')'
//   arg       ::= [ IDENT '=' ] value             option ::= IDENT '=' value
//   value     ::= INT | FLOAT | STRING | 'true' | 'false' | 'none'
//               | IDENT | call | '[' [ value { ',' value } ] ']'
//
// Newlines end statements except inside '(' ')' and '[' ']'; '#' starts a
// comment; a '\' at the end of a line continues it.
//
//===----------------------------------------------------------------------===//
#ifndef RNNC_PARSER_H
#define RNNC_PARSER_H

#include "rnnc/AST.h"
#include "rnnc/Lexer.h"

#include <optional>

namespace rnnc {

class Parser {
public:
  Parser(llvm::StringRef buffer, Diagnostics &diag) : lexer(buffer, diag), diag(diag) {
    tok = lexer.lex();
    peekTok = lexer.lex();
  }

  /// Parses the whole file. Returns nullptr after reporting errors.
  std::unique_ptr<ModuleAST> parseModule();

private:
  void consume();
  bool expect(Token::Kind kind, llvm::StringRef context);
  void skipToEndOfLine();
  bool expectEndOfStatement();

  std::unique_ptr<StmtAST> parseStatement(bool inDecoder);
  std::unique_ptr<StmtAST> parseVocab();
  std::unique_ptr<StmtAST> parseDecl(bool isTarget);
  std::unique_ptr<StmtAST> parseBinding();
  std::unique_ptr<StmtAST> parseOutput();
  std::unique_ptr<StmtAST> parseLoss();
  std::unique_ptr<StmtAST> parseTrain();
  std::unique_ptr<StmtAST> parseDecoder();
  std::optional<TypeAST> parseType();
  std::optional<ValueAST> parseValue();
  std::optional<CallAST> parseCallAfterName(std::string name, llvm::SMLoc loc);
  bool parseOptions(std::vector<ArgAST> &out, llvm::StringRef context, bool allowPositional);

  Lexer lexer;
  Diagnostics &diag;
  Token tok;
  Token peekTok;
};

} // namespace rnnc

#endif // RNNC_PARSER_H
