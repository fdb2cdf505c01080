//===- AST.h - Syntax tree of the .rnn language -------------------*- C++ -*-===//
//
// The parser's output: statements with source locations, values as written.
// Names, types and layer options are checked later by Sema.
//
//===----------------------------------------------------------------------===//
#ifndef RNNC_AST_H
#define RNNC_AST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
}

namespace rnnc {

struct CallAST;

/// A value as written: a literal, a name, a call or a list.
struct ValueAST {
  enum Kind { Int, Float, String, Bool, None, Name, Call, List };
  Kind kind = None;
  llvm::SMLoc loc;
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;
  std::string text; ///< string contents, or the name
  std::shared_ptr<CallAST> call;
  std::vector<ValueAST> list;

  bool isNumber() const { return kind == Int || kind == Float; }
  double asDouble() const { return kind == Int ? double(intValue) : floatValue; }
};

/// One argument of a call or option list: `value` or `name=value`.
struct ArgAST {
  std::string name; ///< empty for a positional argument
  llvm::SMLoc nameLoc;
  ValueAST value;
};

/// `callee(arg, name=value, ...)`.
struct CallAST {
  std::string callee;
  llvm::SMLoc loc;
  std::vector<ArgAST> args;
};

/// A dimension of a declared type: a symbol (`B`) or a size (`8`).
struct DimAST {
  std::string symbol;
  int64_t size = -1;
  llvm::SMLoc loc;
};

/// `tokens[B, T] of V`, `class[B] of 2`, `f32[B, T, 8]`, `lengths[B]`.
struct TypeAST {
  enum Kind { Tokens, Class, F32, Lengths };
  Kind kind = F32;
  llvm::SMLoc loc;
  std::vector<DimAST> dims;
  std::string of; ///< vocab name (tokens, class of a vocab)
  llvm::SMLoc ofLoc;
  int64_t classes = -1; ///< `class[...] of N`
};

/// Base of all statements (LLVM-style RTTI).
class StmtAST {
public:
  enum Kind { Model, Vocab, Decl, Binding, Output, Loss, Train, Decoder, Next };
  StmtAST(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  virtual ~StmtAST() = default;
  Kind getKind() const { return kind; }
  llvm::SMLoc getLoc() const { return loc; }

private:
  Kind kind;
  llvm::SMLoc loc;
};

/// `model NAME`
struct ModelStmt : StmtAST {
  ModelStmt(llvm::SMLoc loc, std::string name) : StmtAST(Model, loc), name(std::move(name)) {}
  std::string name;
  static bool classof(const StmtAST *s) { return s->getKind() == Model; }
};

/// `vocab V = "chars"` | `vocab V = file("words.txt")` | `vocab V = size 100`
struct VocabStmt : StmtAST {
  enum Source { Chars, File, Size };
  VocabStmt(llvm::SMLoc loc) : StmtAST(Vocab, loc) {}
  std::string name;
  Source source = Chars;
  std::string text; ///< the characters, or the file name
  int64_t size = 0;
  llvm::SMLoc valueLoc;
  static bool classof(const StmtAST *s) { return s->getKind() == Vocab; }
};

/// `input x : TYPE` or `target y : TYPE`
struct DeclStmt : StmtAST {
  DeclStmt(llvm::SMLoc loc, bool isTarget) : StmtAST(Decl, loc), isTarget(isTarget) {}
  bool isTarget;
  std::string name;
  TypeAST type;
  static bool classof(const StmtAST *s) { return s->getKind() == Decl; }
};

/// `a, b = value`
struct BindingStmt : StmtAST {
  BindingStmt(llvm::SMLoc loc) : StmtAST(Binding, loc) {}
  std::vector<std::pair<std::string, llvm::SMLoc>> names;
  ValueAST value;
  static bool classof(const StmtAST *s) { return s->getKind() == Binding; }
};

/// `output NAME = value`
struct OutputStmt : StmtAST {
  OutputStmt(llvm::SMLoc loc) : StmtAST(Output, loc) {}
  std::string name;
  ValueAST value;
  static bool classof(const StmtAST *s) { return s->getKind() == Output; }
};

/// `loss cross_entropy(logits, y)`
struct LossStmt : StmtAST {
  LossStmt(llvm::SMLoc loc) : StmtAST(Loss, loc) {}
  CallAST call;
  static bool classof(const StmtAST *s) { return s->getKind() == Loss; }
};

/// `train name=value, ...`
struct TrainStmt : StmtAST {
  TrainStmt(llvm::SMLoc loc) : StmtAST(Train, loc) {}
  std::vector<ArgAST> options;
  static bool classof(const StmtAST *s) { return s->getKind() == Train; }
};

/// `decoder NAME(options) { statements }`: a loop over output steps.
struct DecoderStmt : StmtAST {
  DecoderStmt(llvm::SMLoc loc) : StmtAST(Decoder, loc) {}
  std::string name;
  std::vector<ArgAST> options;
  std::vector<std::unique_ptr<StmtAST>> body;
  static bool classof(const StmtAST *s) { return s->getKind() == Decoder; }
};

/// `next value` (inside a decoder body): the step's output scores.
struct NextStmt : StmtAST {
  NextStmt(llvm::SMLoc loc) : StmtAST(Next, loc) {}
  ValueAST value;
  static bool classof(const StmtAST *s) { return s->getKind() == Next; }
};

/// A parsed `.rnn` file.
struct ModuleAST {
  std::vector<std::unique_ptr<StmtAST>> stmts;
};

/// Prints the tree (for `rnnc --emit=ast`), with line:col of every node.
void dumpAST(const ModuleAST &module, const llvm::SourceMgr &srcMgr,
             llvm::raw_ostream &os);

} // namespace rnnc

#endif // RNNC_AST_H
