//===- Diagnostics.cpp - Located diagnostics for .rnn files ----------------===//
#include "rnnc/Diagnostics.h"

using namespace rnnc;

bool Diagnostics::error(llvm::SMLoc loc, const llvm::Twine &msg,
                        llvm::ArrayRef<llvm::SMRange> ranges) {
  ++numErrors;
  srcMgr.PrintMessage(loc, llvm::SourceMgr::DK_Error, msg, ranges);
  return false;
}

void Diagnostics::warning(llvm::SMLoc loc, const llvm::Twine &msg) {
  srcMgr.PrintMessage(loc, llvm::SourceMgr::DK_Warning, msg);
}

void Diagnostics::note(llvm::SMLoc loc, const llvm::Twine &msg) {
  srcMgr.PrintMessage(loc, llvm::SourceMgr::DK_Note, msg);
}

std::pair<unsigned, unsigned>
Diagnostics::getLineAndColumn(llvm::SMLoc loc) const {
  return srcMgr.getLineAndColumn(loc);
}

llvm::StringRef Diagnostics::getFileName() const {
  return srcMgr.getMemoryBuffer(srcMgr.getMainFileID())->getBufferIdentifier();
}
