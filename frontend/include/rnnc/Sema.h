//===- Sema.h - Checked model of a .rnn file ----------------------*- C++ -*-===//
//
// Sema resolves names, checks every layer's options, operand types and shapes
// for the whole language, and produces a `Model`: a list of layer nodes in
// dependency order, with result types and PyTorch-named parameters. MLIRGen
// turns a Model into the rnn dialect.
//
//===----------------------------------------------------------------------===//
#ifndef RNNC_SEMA_H
#define RNNC_SEMA_H

#include "rnnc/AST.h"
#include "rnnc/Diagnostics.h"

#include <map>
#include <optional>

namespace rnnc {

/// A dimension: a symbol bound at run time (`B`, `T`) or a static size.
struct Dim {
  std::string sym;
  int64_t size = -1;
  bool isStatic() const { return sym.empty(); }
  bool operator==(const Dim &o) const { return sym == o.sym && size == o.size; }
  bool operator!=(const Dim &o) const { return !(*this == o); }
  std::string str() const { return isStatic() ? std::to_string(size) : sym; }
};

/// The type of a value of the model.
struct VType {
  enum Kind { Tokens, F32, Lengths, Class };
  Kind kind = F32;
  std::vector<Dim> shape;
  std::string vocab;   ///< for Tokens / Class of a vocab
  int64_t classes = 0; ///< number of classes (Tokens: vocab size)
  std::string str() const;
};

struct Vocab {
  enum Kind { Chars, Words, Ids };
  std::string name;
  Kind kind = Chars;
  std::vector<std::string> tokens; ///< empty for Ids
  int64_t size = 0;
};

/// A trainable tensor, named as in PyTorch's state_dict.
struct Param {
  std::string name;
  std::vector<int64_t> shape;
  std::string init; ///< `uniform:<bound>`, `normal:<std>`, `zeros`, `ones`
  int64_t zeroRow = -1; ///< a row initialised to zero (an embedding's padding_idx), or -1
};

enum class Layer {
  Input, OneHot, Embedding, Recurrent, Dense, Softmax, Concat, Dropout,
  Attention, Last, Cell, Decoder
};
enum class CellKind { RNN, LSTM, GRU };
enum class Direction { Forward, Reverse, Bidirectional };
enum class Activation { None, Tanh, Relu, Sigmoid };

/// A reference to result `result` of node `node`.
struct ValueRef {
  int node = -1;
  unsigned result = 0;
};

/// One layer application (or an input).
struct Node {
  Layer layer = Layer::Input;
  std::string name; ///< binding name: the parameter prefix
  llvm::SMLoc loc;
  std::vector<ValueRef> operands;
  std::vector<VType> results;
  std::vector<Param> params;

  // Options (those that apply to the layer).
  CellKind cell = CellKind::LSTM;
  Direction direction = Direction::Forward;
  Activation activation = Activation::None;
  int64_t hidden = 0, layers = 1, units = 0, dim = 0, axis = -1;
  bool returnSequences = false, returnState = false, maskZero = false, bias = true;
  double rate = 0;
  std::string attention; ///< dot | general | additive
  std::optional<ValueRef> lengths;
  std::vector<ValueRef> initialState;
  /// Decoder: its `prev` node (the body is the nodes after it, before the
  /// decoder node) and the ids of its start and end tokens.
  int decoderPrev = -1;
  int64_t startToken = 0, endToken = 0;
  /// Decoder: body values read outside it (`dec.w`), its results 1, 2, ...
  /// (each the sequence of the value's steps).
  std::vector<ValueRef> bodyOutputs;
  /// Where each given option was written, for later diagnostics.
  std::map<std::string, llvm::SMLoc> optionLocs;
};

struct Output {
  std::string name;
  ValueRef value;
  llvm::SMLoc loc;
  std::string vocab; ///< the vocab the last axis scores, if any
};

struct Target {
  std::string name;
  VType type;
  llvm::SMLoc loc;
};

struct Loss {
  std::string kind; ///< cross_entropy | mse
  ValueRef pred;
  std::string target;
  llvm::SMLoc loc;
  /// `weights=`: a lengths[B] input (steps t < len[b] count) or a float target
  /// of the target's shape (the weighted mean); none: every position counts,
  /// except the padding of a mask_zero embedding that reaches the prediction.
  std::optional<ValueRef> weights;
};

struct Model {
  std::string name;
  llvm::SMLoc loc;
  std::vector<Vocab> vocabs;
  std::vector<Node> nodes;
  std::vector<int> inputs; ///< node ids of Layer::Input nodes, in order
  std::vector<Target> targets;
  std::vector<Output> outputs;
  std::vector<Loss> losses;
  std::vector<std::pair<std::string, std::string>> train; ///< normalised options
  llvm::SMLoc trainLoc;
  llvm::SMLoc bpttLoc; ///< the `bptt=` setting of the train line, if given

  const Vocab *findVocab(llvm::StringRef name) const;
  const VType &typeOf(ValueRef v) const { return nodes[v.node].results[v.result]; }
};

/// Checks `module` and builds its Model. `baseDir` resolves vocab files.
/// Returns std::nullopt after reporting errors.
std::optional<Model> analyze(const ModuleAST &module, Diagnostics &diag,
                             llvm::StringRef baseDir);

} // namespace rnnc

#endif // RNNC_SEMA_H
