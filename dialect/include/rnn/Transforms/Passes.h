//===- Passes.h - Passes of the rnn dialect ------------------------*- C++ -*-===//
#ifndef RNN_TRANSFORMS_PASSES_H
#define RNN_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace arith {
class ArithDialect;
}
namespace bufferization {
class BufferizationDialect;
}
namespace func {
class FuncDialect;
}
namespace linalg {
class LinalgDialect;
}
namespace LLVM {
class LLVMDialect;
}
namespace math {
class MathDialect;
}
namespace memref {
class MemRefDialect;
}
namespace rnn {
class RNNDialect;
}
namespace scf {
class SCFDialect;
}
namespace tensor {
class TensorDialect;
}
namespace vector {
class VectorDialect;
}
} // namespace mlir

namespace mlir::rnn {

#define GEN_PASS_DECL
#include "rnn/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "rnn/Transforms/Passes.h.inc"

} // namespace mlir::rnn

#endif // RNN_TRANSFORMS_PASSES_H
