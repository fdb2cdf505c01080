//===- Lexer.cpp - Tokens of the .rnn language -----------------------------===//
#include "rnnc/Lexer.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ConvertUTF.h"

#include <cctype>

using namespace rnnc;

Lexer::Lexer(llvm::StringRef buffer, Diagnostics &diag)
    : buffer(buffer), cur(buffer.begin()), diag(diag) {
  // Some editors start UTF-8 files with a byte order mark: skip it.
  if (buffer.starts_with("\xEF\xBB\xBF"))
    cur += 3;
}

Token Lexer::form(Token::Kind k, const char *start) {
  Token t;
  t.kind = k;
  t.spelling = llvm::StringRef(start, cur - start);
  return t;
}

Token Lexer::emitError(const char *loc, const llvm::Twine &msg) {
  diag.error(llvm::SMLoc::getFromPointer(loc), msg);
  return form(Token::error, loc);
}

Token Lexer::lex() {
  while (true) {
    const char *start = cur;
    if (cur == buffer.end())
      return form(Token::eof, start);
    char c = *cur++;
    switch (c) {
    case ' ':
    case '\t':
    case '\r':
      continue;
    case '\\': // explicit line continuation
      if (cur != buffer.end() && (*cur == '\n' || *cur == '\r')) {
        while (cur != buffer.end() && (*cur == '\r' || *cur == '\n'))
          if (*cur++ == '\n')
            break;
        continue;
      }
      return emitError(start, "unexpected character '\\' (a line continuation must end "
                              "the line)");
    case '#':
      while (cur != buffer.end() && *cur != '\n')
        ++cur;
      continue;
    case '\n':
      if (nesting > 0)
        continue;
      return form(Token::newline, start);
    case '=':
      return form(Token::equal, start);
    case ':':
      return form(Token::colon, start);
    case ',':
      return form(Token::comma, start);
    case '(':
      ++nesting;
      return form(Token::l_paren, start);
    case ')':
      if (nesting > 0)
        --nesting;
      return form(Token::r_paren, start);
    case '[':
      ++nesting;
      return form(Token::l_square, start);
    case ']':
      if (nesting > 0)
        --nesting;
      return form(Token::r_square, start);
    case '{':
      return form(Token::l_brace, start);
    case '}':
      return form(Token::r_brace, start);
    case '"':
      return lexString(start);
    case '-':
      if (cur != buffer.end() && (isdigit(*cur) || *cur == '.'))
        return lexNumber(start);
      return form(Token::minus, start);
    default:
      if (isalpha(static_cast<unsigned char>(c)) || c == '_')
        return lexIdentifier(start);
      if (isdigit(static_cast<unsigned char>(c)) || c == '.')
        return lexNumber(start);
      if (static_cast<unsigned char>(c) >= 0x80) {
        // One error per character, not per byte of its UTF-8 encoding.
        while (cur != buffer.end() && (static_cast<unsigned char>(*cur) & 0xC0) == 0x80)
          ++cur;
        return emitError(start, "unexpected non-ASCII character outside a string");
      }
      if (isprint(static_cast<unsigned char>(c)))
        return emitError(start, llvm::Twine("unexpected character '") + llvm::Twine(c) + "'");
      return emitError(start, "unexpected control character");
    }
  }
}

Token Lexer::lexIdentifier(const char *start) {
  auto identChar = [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (cur != buffer.end() && identChar(*cur))
    ++cur;
  // A dotted name (`dec.w`: binding `w` of decoder `dec`'s body) is one token.
  while (cur + 1 < buffer.end() && *cur == '.' &&
         (isalpha(static_cast<unsigned char>(cur[1])) || cur[1] == '_')) {
    ++cur;
    while (cur != buffer.end() && identChar(*cur))
      ++cur;
  }
  llvm::StringRef spelling(start, cur - start);
  Token::Kind k = llvm::StringSwitch<Token::Kind>(spelling)
                      .Case("model", Token::kw_model)
                      .Case("vocab", Token::kw_vocab)
                      .Case("input", Token::kw_input)
                      .Case("target", Token::kw_target)
                      .Case("output", Token::kw_output)
                      .Case("loss", Token::kw_loss)
                      .Case("train", Token::kw_train)
                      .Case("decoder", Token::kw_decoder)
                      .Case("next", Token::kw_next)
                      .Case("of", Token::kw_of)
                      .Case("true", Token::kw_true)
                      .Case("false", Token::kw_false)
                      .Case("none", Token::kw_none)
                      .Default(Token::identifier);
  return form(k, start);
}

Token Lexer::lexNumber(const char *start) {
  bool isFloat = false;
  if (*start == '.')
    isFloat = true;
  while (cur != buffer.end() && isdigit(static_cast<unsigned char>(*cur)))
    ++cur;
  if (cur != buffer.end() && *cur == '.') {
    isFloat = true;
    ++cur;
    while (cur != buffer.end() && isdigit(static_cast<unsigned char>(*cur)))
      ++cur;
  }
  if (cur != buffer.end() && (*cur == 'e' || *cur == 'E')) {
    const char *save = cur++;
    if (cur != buffer.end() && (*cur == '+' || *cur == '-'))
      ++cur;
    if (cur == buffer.end() || !isdigit(static_cast<unsigned char>(*cur))) {
      cur = save + 1;
      return emitError(save, "expected digits in the exponent of a number");
    }
    while (cur != buffer.end() && isdigit(static_cast<unsigned char>(*cur)))
      ++cur;
    isFloat = true;
  }
  if (cur != buffer.end() && (isalpha(static_cast<unsigned char>(*cur)) || *cur == '_')) {
    while (cur != buffer.end() && (isalnum(static_cast<unsigned char>(*cur)) || *cur == '_'))
      ++cur;
    return emitError(start, "malformed number '" + llvm::StringRef(start, cur - start) + "'");
  }
  if (cur - start == 1 && *start == '.')
    return emitError(start, "unexpected character '.'");
  return form(isFloat ? Token::floating : Token::integer, start);
}

Token Lexer::lexString(const char *start) {
  std::string value;
  const char *badEscape = nullptr;
  while (true) {
    if (cur == buffer.end() || *cur == '\n')
      return emitError(start, "unterminated string literal");
    char c = *cur++;
    if (c == '"')
      break;
    if (c != '\\') {
      value.push_back(c);
      continue;
    }
    if (cur == buffer.end() || *cur == '\n')
      return emitError(start, "unterminated string literal");
    char e = *cur++;
    switch (e) {
    case 'n': value.push_back('\n'); break;
    case 't': value.push_back('\t'); break;
    case '\\': value.push_back('\\'); break;
    case '"': value.push_back('"'); break;
    case 's': value.push_back(' '); break;
    default:
      if (!badEscape)
        badEscape = cur - 2;
      break;
    }
  }
  // Report a bad escape once the whole literal is consumed, so that its rest
  // is not lexed as more tokens.
  if (badEscape)
    return emitError(badEscape, llvm::Twine("unknown escape sequence '\\") +
                                    llvm::Twine(badEscape[1]) +
                                    "' (expected \\n, \\t, \\s, \\\\ or \\\")");
  Token t = form(Token::string, start);
  // The whole literal must be valid UTF-8: vocabularies are code points.
  // Escapes are ASCII, so checking the literal as written is equivalent and
  // locates the bad byte.
  const llvm::UTF8 *p = reinterpret_cast<const llvm::UTF8 *>(start + 1);
  if (!llvm::isLegalUTF8String(&p, reinterpret_cast<const llvm::UTF8 *>(cur - 1)))
    return emitError(reinterpret_cast<const char *>(p), "string literal is not valid UTF-8");
  t.strValue = std::move(value);
  return t;
}

llvm::StringRef rnnc::describe(Token::Kind kind) {
  switch (kind) {
  case Token::eof: return "end of file";
  case Token::error: return "invalid token";
  case Token::newline: return "end of line";
  case Token::identifier: return "identifier";
  case Token::integer: return "integer";
  case Token::floating: return "number";
  case Token::string: return "string";
  case Token::equal: return "'='";
  case Token::colon: return "':'";
  case Token::comma: return "','";
  case Token::l_paren: return "'('";
  case Token::r_paren: return "')'";
  case Token::l_square: return "'['";
  case Token::r_square: return "']'";
  case Token::l_brace: return "'{'";
  case Token::r_brace: return "'}'";
  case Token::minus: return "'-'";
  case Token::kw_model: return "'model'";
  case Token::kw_vocab: return "'vocab'";
  case Token::kw_input: return "'input'";
  case Token::kw_target: return "'target'";
  case Token::kw_output: return "'output'";
  case Token::kw_loss: return "'loss'";
  case Token::kw_train: return "'train'";
  case Token::kw_decoder: return "'decoder'";
  case Token::kw_next: return "'next'";
  case Token::kw_of: return "'of'";
  case Token::kw_true: return "'true'";
  case Token::kw_false: return "'false'";
  case Token::kw_none: return "'none'";
  }
  return "token";
}
