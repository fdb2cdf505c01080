//===- Diagnostics.h - Located diagnostics for .rnn files --------*- C++ -*-===//
//
// Every frontend error goes through one engine built on llvm::SourceMgr, which
// prints clang-style `file:line:col: error: message`, the source line and a
// caret.
//
//===----------------------------------------------------------------------===//
#ifndef RNNC_DIAGNOSTICS_H
#define RNNC_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

namespace rnnc {

/// Reports located errors and notes; counts errors.
class Diagnostics {
public:
  explicit Diagnostics(llvm::SourceMgr &srcMgr) : srcMgr(srcMgr) {}

  /// Reports an error at `loc`. Always returns false, so callers can write
  /// `return diag.error(loc, "...")`.
  bool error(llvm::SMLoc loc, const llvm::Twine &msg,
             llvm::ArrayRef<llvm::SMRange> ranges = {});
  /// Reports a warning at `loc` (does not count as an error).
  void warning(llvm::SMLoc loc, const llvm::Twine &msg);
  /// Attaches a note to the last error.
  void note(llvm::SMLoc loc, const llvm::Twine &msg);

  unsigned getNumErrors() const { return numErrors; }
  llvm::SourceMgr &getSourceMgr() { return srcMgr; }

  /// Line and column (1-based) of `loc`.
  std::pair<unsigned, unsigned> getLineAndColumn(llvm::SMLoc loc) const;
  /// The buffer identifier (file name) of the main file.
  llvm::StringRef getFileName() const;

private:
  llvm::SourceMgr &srcMgr;
  unsigned numErrors = 0;
};

} // namespace rnnc

#endif // RNNC_DIAGNOSTICS_H
