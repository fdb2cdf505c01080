//===- Sema.cpp - Name resolution, option and type checks ------------------===//
//
// Walks the statements in order (a name must be defined before it is used),
// checks each layer call against its option table and operand types, and
// builds the Model. Every error is located and says what was expected.
//
//===----------------------------------------------------------------------===//
#include "rnnc/Sema.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <array>
#include <cmath>
#include <limits>
#include <set>

using namespace rnnc;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

std::string VType::str() const {
  static const char *names[] = {"tokens", "f32", "lengths", "class"};
  std::string s = names[kind];
  s += '[';
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + shape[i].str();
  s += ']';
  if (!vocab.empty())
    s += " of " + vocab;
  else if (kind == Class)
    s += " of " + std::to_string(classes);
  return s;
}

const Vocab *Model::findVocab(StringRef name) const {
  for (const Vocab &v : vocabs)
    if (v.name == name)
      return &v;
  return nullptr;
}

namespace {

std::string shapeStr(const std::vector<Dim> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + shape[i].str();
  return s + "]";
}

/// Sizes (hidden, units, dim, ...) must fit shapes in 32 bits; stacks are
/// bounded so that a typo cannot ask for millions of parameter tensors.
constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxLayers = 1024;

std::string fmtFloat(double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

/// The candidate `word` is most likely a typo of (at most 2 edits), if any.
std::optional<std::string> closest(StringRef word, llvm::ArrayRef<std::string> candidates) {
  std::optional<std::string> best;
  unsigned bestDist = 3;
  for (const std::string &c : candidates) {
    unsigned d = word.edit_distance(c, /*AllowReplacements=*/true, bestDist);
    if (d < bestDist && d < word.size()) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

/// Names visible at a point: the model's scope, or a decoder body's scope
/// chained to it.
struct Scope {
  std::map<std::string, std::pair<ValueRef, SMLoc>> names;
  Scope *parent = nullptr;
  const std::pair<ValueRef, SMLoc> *lookup(const std::string &n) const {
    auto it = names.find(n);
    if (it != names.end())
      return &it->second;
    return parent ? parent->lookup(n) : nullptr;
  }
};

class Sema;

/// The keyword options of one call: typed getters that record which options
/// the layer knows, then a check that nothing unknown was given.
class Options {
public:
  Options(Diagnostics &diag, StringRef layer, const std::vector<ArgAST> &args)
      : diag(diag), layer(layer) {
    for (const ArgAST &a : args) {
      if (a.name.empty())
        continue;
      auto [it, inserted] = given.insert({a.name, &a});
      if (!inserted) {
        diag.error(a.nameLoc, "option '" + a.name + "' is given twice");
        diag.note(it->second->nameLoc, "previous value here");
        ok = false;
      }
    }
  }

  const ArgAST *get(StringRef name) {
    known.push_back(name.str());
    auto it = given.find(name.str());
    return it == given.end() ? nullptr : it->second;
  }

  std::optional<int64_t> getInt(StringRef name, std::optional<int64_t> def, int64_t min,
                                SMLoc callLoc, int64_t max = kMaxSize) {
    const ArgAST *a = get(name);
    if (!a) {
      if (!def) {
        ok = diag.error(callLoc, layer + " needs option '" + name + "'");
        return std::nullopt;
      }
      return def;
    }
    if (a->value.kind != ValueAST::Int) {
      ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be an integer");
      return std::nullopt;
    }
    if (a->value.intValue < min) {
      ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be at least " +
                                        Twine(min));
      return std::nullopt;
    }
    if (a->value.intValue > max) {
      ok = diag.error(a->value.loc,
                      "option '" + name + "' of " + layer + " must be at most " + Twine(max));
      return std::nullopt;
    }
    return a->value.intValue;
  }

  std::optional<double> getFloat(StringRef name, double def, double min, double max) {
    const ArgAST *a = get(name);
    if (!a)
      return def;
    if (!a->value.isNumber()) {
      ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be a number");
      return std::nullopt;
    }
    double v = a->value.asDouble();
    if (!(v >= min && v <= max)) {
      ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be between " +
                                        fmtFloat(min) + " and " + fmtFloat(max));
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> getBool(StringRef name, bool def) {
    const ArgAST *a = get(name);
    if (!a)
      return def;
    if (a->value.kind != ValueAST::Bool) {
      ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be true or false");
      return std::nullopt;
    }
    return a->value.boolValue;
  }

  /// A keyword among `choices` (written as a bare name or `none`).
  std::optional<std::string> getChoice(StringRef name, StringRef def,
                                       llvm::ArrayRef<StringRef> choices) {
    const ArgAST *a = get(name);
    if (!a)
      return def.str();
    std::string v;
    if (a->value.kind == ValueAST::Name || a->value.kind == ValueAST::String)
      v = a->value.text;
    else if (a->value.kind == ValueAST::None)
      v = "none";
    if (llvm::is_contained(choices, StringRef(v)))
      return v;
    ok = diag.error(a->value.loc, "option '" + name + "' of " + layer + " must be one of: " +
                                      llvm::join(choices, ", "));
    return std::nullopt;
  }

  /// Reports options the layer does not know. Call after all getters.
  bool finish() {
    for (auto &[name, arg] : given) {
      if (llvm::is_contained(known, name))
        continue;
      std::string msg = "unknown option '" + name + "' for " + layer;
      if (auto guess = closest(name, known))
        msg += "; did you mean '" + *guess + "'?";
      else if (known.empty())
        msg += " (it takes no options)";
      else
        msg += " (expected one of: " + llvm::join(known, ", ") + ")";
      ok = diag.error(arg->nameLoc, msg);
    }
    return ok;
  }

  bool ok = true;

private:
  Diagnostics &diag;
  std::string layer;
  std::map<std::string, const ArgAST *> given;
  std::vector<std::string> known;
};

class Sema {
public:
  Sema(Diagnostics &diag, StringRef baseDir) : diag(diag), baseDir(baseDir.str()) {}

  std::optional<Model> run(const ModuleAST &module);

private:
  // Statements.
  bool declareName(const std::string &name, SMLoc loc, Scope &scope);
  bool checkVocab(const VocabStmt &s);
  bool checkDecl(const DeclStmt &s);
  bool checkBinding(const BindingStmt &s, Scope &scope);
  bool checkOutput(const OutputStmt &s);
  bool checkLoss(const LossStmt &s);
  bool checkTrain(const TrainStmt &s);
  bool checkDecoder(const DecoderStmt &s);

  // Values and layers.
  std::optional<int> evalCall(const CallAST &call, Scope &scope, const std::string &bindName,
                              bool inDecoder);
  std::optional<ValueRef> evalValue(const ValueAST &v, Scope &scope, bool inDecoder);
  /// `DECODER.NAME`: body value NAME of a decoder, as the sequence of its steps.
  std::optional<ValueRef> evalBodyValue(const ValueAST &v, Scope &scope);
  std::optional<VType> resolveType(const TypeAST &t, bool isTarget);
  bool requireFloatSeq(const Node &n, const VType &t, const std::string &what, SMLoc loc,
                       size_t minRank, size_t maxRank);
  int addNode(Node n) {
    m.nodes.push_back(std::move(n));
    return static_cast<int>(m.nodes.size()) - 1;
  }
  std::string describeOperand(const ValueAST &v, const VType &t) {
    return (v.kind == ValueAST::Name ? "'" + v.text + "'" : std::string("its input")) + " is " +
           t.str();
  }

  Diagnostics &diag;
  std::string baseDir;
  Model m;
  Scope top;
  std::map<std::string, SMLoc> vocabLocs, outputLocs;
  /// Names whose definition failed: their uses are not reported again.
  std::set<std::string> failedNames;
  /// Each decoder's body bindings (for DECODER.NAME).
  std::map<int, std::map<std::string, ValueRef>> decoderBodies;
  SMLoc modelLoc;
  bool haveTrain = false;
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Sema::declareName(const std::string &name, SMLoc loc, Scope &scope) {
  if (name.find('.') != std::string::npos)
    return diag.error(loc, "'" + name + "' cannot be defined: a dotted name refers to a value in "
                                        "a decoder's body (DECODER.NAME)");
  if (auto *prev = scope.lookup(name)) {
    diag.error(loc, "redefinition of '" + name + "'");
    if (name == "prev" && scope.parent && !scope.parent->lookup(name))
      diag.note(prev->second, "'prev' (the previous output token) is defined by the decoder");
    else
      diag.note(prev->second, "previous definition here");
    return false;
  }
  if (vocabLocs.count(name)) {
    diag.error(loc, "'" + name + "' is already the name of a vocabulary");
    diag.note(vocabLocs[name], "vocabulary defined here");
    return false;
  }
  return true;
}

bool Sema::checkVocab(const VocabStmt &s) {
  if (auto it = vocabLocs.find(s.name); it != vocabLocs.end()) {
    diag.error(s.getLoc(), "redefinition of vocabulary '" + s.name + "'");
    diag.note(it->second, "previous definition here");
    return false;
  }
  if (auto *prev = top.lookup(s.name)) {
    diag.error(s.getLoc(), "'" + s.name + "' is already the name of a value");
    diag.note(prev->second, "value defined here");
    return false;
  }
  Vocab v;
  v.name = s.name;
  switch (s.source) {
  case VocabStmt::Size:
    v.kind = Vocab::Ids;
    v.size = s.size;
    break;
  case VocabStmt::Chars: {
    v.kind = Vocab::Chars;
    // Split into UTF-8 code points; each must be unique.
    const char *p = s.text.data(), *end = p + s.text.size();
    std::map<std::string, size_t> seen; // code point -> offset in the text
    // The source location of byte `offset` of the text: every escape is two
    // characters in the literal for one byte of text.
    auto locOf = [&](size_t offset) {
      const char *q = s.valueLoc.getPointer() + 1;
      for (size_t i = 0; i < offset; ++i)
        q += *q == '\\' ? 2 : 1;
      return SMLoc::getFromPointer(q);
    };
    while (p < end) {
      unsigned len = llvm::getNumBytesForUTF8(static_cast<unsigned char>(*p));
      std::string cp(p, std::min<size_t>(len, end - p));
      auto [it, inserted] = seen.insert({cp, p - s.text.data()});
      if (!inserted) {
        // Show control characters as they are written in the literal.
        std::string shown = cp == "\n" ? "\\n" : cp == "\t" ? "\\t" : cp;
        diag.error(locOf(p - s.text.data()),
                   "vocabulary '" + s.name + "' lists the character '" + shown + "' twice");
        diag.note(locOf(it->second), "first listed here");
        return false;
      }
      v.tokens.push_back(cp);
      p += len;
    }
    if (v.tokens.size() < 2)
      return diag.error(s.valueLoc, "a vocabulary needs at least 2 tokens");
    v.size = v.tokens.size();
    break;
  }
  case VocabStmt::File: {
    llvm::SmallString<256> path(s.text);
    if (!llvm::sys::path::is_absolute(path)) {
      path = baseDir;
      llvm::sys::path::append(path, s.text);
    }
    auto buf = llvm::MemoryBuffer::getFile(path);
    if (!buf)
      return diag.error(s.valueLoc, "cannot read vocabulary file '" + path.str() +
                                        "': " + buf.getError().message());
    v.kind = Vocab::Words;
    llvm::SmallVector<StringRef> lines;
    (*buf)->getBuffer().split(lines, '\n');
    std::map<std::string, unsigned> seen;
    for (unsigned i = 0; i < lines.size(); ++i) {
      StringRef w = lines[i].rtrim("\r");
      if (w.empty())
        continue;
      if (w.contains(' ') || w.contains('\t'))
        return diag.error(s.valueLoc, "vocabulary file '" + path.str() + "' line " +
                                          Twine(i + 1) + ": a token must not contain spaces");
      if (!seen.insert({w.str(), i + 1}).second)
        return diag.error(s.valueLoc, "vocabulary file '" + path.str() + "' line " +
                                          Twine(i + 1) + ": token '" + w + "' repeats line " +
                                          Twine(seen[w.str()]));
      v.tokens.push_back(w.str());
    }
    if (v.tokens.size() < 2)
      return diag.error(s.valueLoc, "vocabulary file '" + path.str() +
                                        "' must list at least 2 tokens, one per line");
    v.size = v.tokens.size();
    break;
  }
  }
  vocabLocs[s.name] = s.getLoc();
  m.vocabs.push_back(std::move(v));
  return true;
}

std::optional<VType> Sema::resolveType(const TypeAST &t, bool isTarget) {
  VType vt;
  for (const DimAST &d : t.dims)
    vt.shape.push_back(d.symbol.empty() ? Dim{"", d.size} : Dim{d.symbol, -1});
  size_t rank = vt.shape.size();
  auto rankError = [&](StringRef what) {
    diag.error(t.loc, what);
    return std::nullopt;
  };
  switch (t.kind) {
  case TypeAST::Tokens: {
    vt.kind = VType::Tokens;
    const Vocab *v = m.findVocab(t.of);
    if (!v) {
      diag.error(t.ofLoc, "unknown vocabulary '" + t.of + "'");
      return std::nullopt;
    }
    vt.vocab = v->name;
    vt.classes = v->size;
    if (rank != 1 && rank != 2)
      return rankError("token ids are [B] or [B, T], got " + shapeStr(vt.shape));
    break;
  }
  case TypeAST::Class:
    if (!isTarget)
      return rankError("class types are for targets; use tokens[...] of V for inputs");
    vt.kind = VType::Class;
    if (!t.of.empty()) {
      const Vocab *v = m.findVocab(t.of);
      if (!v) {
        diag.error(t.ofLoc, "unknown vocabulary '" + t.of + "'");
        return std::nullopt;
      }
      vt.vocab = v->name;
      vt.classes = v->size;
    } else {
      vt.classes = t.classes;
    }
    if (rank != 1)
      return rankError("a class target is one class id per example: class[B] of N");
    break;
  case TypeAST::F32:
    vt.kind = VType::F32;
    // A float target may also be per-example or per-step weights of a loss
    // (f32[B], f32[B, T]): its last axis need not be a feature axis.
    if (isTarget && (rank == 1 || (rank == 2 && !vt.shape.back().isStatic())))
      break;
    if (rank < 2 || rank > 3)
      return rankError("float values are [B, F] or [B, T, F], got " + shapeStr(vt.shape));
    if (!vt.shape.back().isStatic()) {
      diag.error(t.dims.back().loc, "the feature axis of a float value must be a number, got '" +
                                        vt.shape.back().sym + "'");
      return std::nullopt;
    }
    break;
  case TypeAST::Lengths:
    if (isTarget)
      return rankError("lengths are inputs, not targets");
    vt.kind = VType::Lengths;
    if (rank != 1)
      return rankError("lengths are one length per example: lengths[B]");
    break;
  }
  return vt;
}

bool Sema::checkDecl(const DeclStmt &s) {
  if (!declareName(s.name, s.getLoc(), top))
    return false;
  auto vt = resolveType(s.type, s.isTarget);
  if (!vt)
    return false;
  if (s.isTarget) {
    m.targets.push_back({s.name, *vt, s.getLoc()});
    // Targets are names too (losses and teacher forcing refer to them).
    Node n;
    n.layer = Layer::Input;
    n.name = s.name;
    n.loc = s.getLoc();
    n.results.push_back(*vt);
    int id = addNode(std::move(n));
    top.names[s.name] = {{id, 0}, s.getLoc()};
    return true;
  }
  Node n;
  n.layer = Layer::Input;
  n.name = s.name;
  n.loc = s.getLoc();
  n.results.push_back(*vt);
  int id = addNode(std::move(n));
  m.inputs.push_back(id);
  top.names[s.name] = {{id, 0}, s.getLoc()};
  return true;
}

bool Sema::checkBinding(const BindingStmt &s, Scope &scope) {
  for (size_t i = 0; i < s.names.size(); ++i) {
    auto &[name, loc] = s.names[i];
    if (!declareName(name, loc, scope))
      return false;
    for (size_t j = 0; j < i; ++j)
      if (s.names[j].first == name) {
        diag.error(loc, "'" + name + "' is bound twice");
        diag.note(s.names[j].second, "first bound here");
        return false;
      }
  }
  bool inDecoder = scope.parent != nullptr;
  std::vector<ValueRef> refs;
  if (s.value.kind == ValueAST::Call) {
    auto id = evalCall(*s.value.call, scope, s.names.front().first, inDecoder);
    if (!id)
      return false;
    const Node &n = m.nodes[*id];
    if (n.results.size() != s.names.size()) {
      auto count = [](size_t k, StringRef noun) {
        return std::to_string(k) + " " + noun.str() + (k == 1 ? "" : "s");
      };
      std::string msg =
          s.value.call->callee + " returns " + count(n.results.size(), "value") + " here";
      if (n.layer == Layer::Recurrent && n.returnState)
        msg += " (the output, h_n" + std::string(n.cell == CellKind::LSTM ? " and c_n" : "") +
               ")";
      msg += ", but " + count(s.names.size(), "name") + (s.names.size() == 1 ? " is" : " are") +
             " bound";
      return diag.error(s.names.front().second, msg);
    }
    for (unsigned i = 0; i < n.results.size(); ++i)
      refs.push_back({*id, i});
  } else {
    if (s.names.size() != 1)
      return diag.error(s.names[1].second, "only a layer call can bind several names");
    auto v = evalValue(s.value, scope, inDecoder);
    if (!v)
      return false;
    refs.push_back(*v);
  }
  for (unsigned i = 0; i < refs.size(); ++i)
    scope.names[s.names[i].first] = {refs[i], s.names[i].second};
  return true;
}

bool Sema::checkOutput(const OutputStmt &s) {
  if (auto it = outputLocs.find(s.name); it != outputLocs.end()) {
    diag.error(s.getLoc(), "redefinition of output '" + s.name + "'");
    diag.note(it->second, "previous definition here");
    return false;
  }
  std::optional<ValueRef> v;
  if (s.value.kind == ValueAST::Call) {
    auto id = evalCall(*s.value.call, top, s.name, false);
    if (!id)
      return false;
    v = ValueRef{*id, 0};
  } else {
    v = evalValue(s.value, top, false);
  }
  if (!v)
    return false;
  const VType &t = m.typeOf(*v);
  if (t.kind != VType::F32)
    return diag.error(s.value.loc, "an output must be a float value, but it is " + t.str());
  Output o{s.name, *v, s.getLoc(), ""};
  // The vocab whose tokens the last axis scores: a target's first, then an input's.
  int64_t last = t.shape.back().size;
  for (const Target &tg : m.targets)
    if (tg.type.kind == VType::Tokens && tg.type.classes == last && o.vocab.empty())
      o.vocab = tg.type.vocab;
  for (int in : m.inputs) {
    const VType &it = m.nodes[in].results[0];
    if (it.kind == VType::Tokens && it.classes == last && o.vocab.empty())
      o.vocab = it.vocab;
  }
  outputLocs[s.name] = s.getLoc();
  m.outputs.push_back(o);
  return true;
}

bool Sema::checkLoss(const LossStmt &s) {
  const CallAST &c = s.call;
  StringRef kind = c.callee;
  if (kind != "cross_entropy" && kind != "mse")
    return diag.error(c.loc, "unknown loss '" + c.callee + "' (expected cross_entropy or mse)");
  std::vector<const ArgAST *> pos;
  for (const ArgAST &a : c.args)
    if (a.name.empty())
      pos.push_back(&a);
  Options opts(diag, c.callee, c.args);
  const ArgAST *weights = kind == "cross_entropy" ? opts.get("weights") : nullptr;
  std::optional<ValueRef> wref;
  if (!opts.finish())
    return false;
  if (pos.size() != 2)
    return diag.error(c.loc, c.callee + " takes two arguments: the prediction and a target");
  auto pred = evalValue(pos[0]->value, top, false);
  if (!pred)
    return false;
  if (pos[1]->value.kind != ValueAST::Name)
    return diag.error(pos[1]->value.loc, "the second argument of a loss must name a target");
  const Target *tgt = nullptr;
  for (const Target &t : m.targets)
    if (t.name == pos[1]->value.text)
      tgt = &t;
  if (!tgt && failedNames.count(pos[1]->value.text))
    return false;
  if (!tgt)
    return diag.error(pos[1]->value.loc, "'" + pos[1]->value.text +
                                             "' is not a target (declare it with 'target " +
                                             pos[1]->value.text + " : ...')");
  const VType &p = m.typeOf(*pred);
  if (p.kind != VType::F32)
    return diag.error(pos[0]->value.loc, "the prediction of a loss must be float, but it is " +
                                             p.str());
  if (kind == "cross_entropy") {
    if (tgt->type.kind == VType::F32)
      return diag.error(pos[1]->value.loc, "cross_entropy needs class ids as target, but '" +
                                               tgt->name + "' is " + tgt->type.str() +
                                               " (use mse for float targets)");
    std::vector<Dim> expect(p.shape.begin(), p.shape.end() - 1);
    if (p.shape.back().size != tgt->type.classes || expect != tgt->type.shape)
      return diag.error(pos[1]->value.loc,
                        "target '" + tgt->name + "' (" + tgt->type.str() + ", " +
                            std::to_string(tgt->type.classes) + " classes) does not fit logits " +
                            p.str() + "; expected a target " + shapeStr(expect) + " of " +
                            std::to_string(p.shape.back().size) + " classes");
    if (weights) {
      const char *what = "weights must name a lengths[B] input (with a per-step target [B, T]) "
                         "or a float target of the target's shape";
      if (weights->value.kind != ValueAST::Name)
        return diag.error(weights->value.loc, what);
      wref = evalValue(weights->value, top, false);
      if (!wref)
        return false;
      const VType &wt = m.typeOf(*wref);
      bool isTarget = m.nodes[wref->node].layer == Layer::Input &&
                      !llvm::is_contained(m.inputs, wref->node);
      const std::vector<Dim> &ts = tgt->type.shape;
      if (wt.kind == VType::Lengths && !isTarget) {
        if (ts.size() != 2 || wt.shape[0] != ts[0])
          return diag.error(weights->value.loc,
                            "lengths weights '" + weights->value.text + "' (" + wt.str() +
                                ") need a per-step target [B, T] with the same B, but '" +
                                tgt->name + "' is " + tgt->type.str());
      } else if (wt.kind == VType::F32 && isTarget) {
        if (wt.shape != ts)
          return diag.error(weights->value.loc,
                            "weights '" + weights->value.text + "' (" + wt.str() +
                                ") must have the shape of target '" + tgt->name + "' " +
                                shapeStr(ts));
      } else {
        return diag.error(weights->value.loc,
                          std::string(what) + ", but '" + weights->value.text + "' is " + wt.str());
      }
    }
  } else {
    if (tgt->type.kind != VType::F32 || tgt->type.shape != p.shape)
      return diag.error(pos[1]->value.loc, "target '" + tgt->name + "' (" + tgt->type.str() +
                                               ") does not fit the prediction " + p.str());
  }
  m.losses.push_back({c.callee, *pred, tgt->name, s.getLoc(), wref});
  return true;
}

bool Sema::checkTrain(const TrainStmt &s) {
  if (haveTrain)
    return diag.error(s.getLoc(), "the model has two 'train' statements");
  haveTrain = true;
  m.trainLoc = s.getLoc();
  Options opts(diag, "train", s.options);
  auto put = [&](StringRef k, std::string v) { m.train.push_back({k.str(), std::move(v)}); };
  if (const ArgAST *a = opts.get("optimizer")) {
    const ValueAST &v = a->value;
    std::string kind = v.kind == ValueAST::Call ? v.call->callee : v.text;
    if (v.kind != ValueAST::Call && v.kind != ValueAST::Name)
      return diag.error(v.loc, "optimizer must be sgd(...) or adam(...)");
    if (kind != "sgd" && kind != "adam")
      return diag.error(v.loc, "unknown optimizer '" + kind + "' (expected sgd(...) or adam(...))");
    std::vector<ArgAST> none;
    Options o(diag, kind, v.kind == ValueAST::Call ? v.call->args : none);
    std::string text = kind + "(";
    auto lr = o.getFloat("lr", kind == "adam" ? 0.001 : 0.01, 0, 1e6);
    text += "lr=" + (lr ? fmtFloat(*lr) : "");
    if (kind == "sgd") {
      auto mom = o.getFloat("momentum", 0, 0, 1);
      auto nest = o.getBool("nesterov", false);
      if (mom && nest)
        text += ",momentum=" + fmtFloat(*mom) + ",nesterov=" + (*nest ? "true" : "false");
    } else {
      auto b1 = o.getFloat("beta1", 0.9, 0, 1), b2 = o.getFloat("beta2", 0.999, 0, 1);
      auto eps = o.getFloat("eps", 1e-8, 0, 1);
      if (b1 && b2 && eps)
        text += ",beta1=" + fmtFloat(*b1) + ",beta2=" + fmtFloat(*b2) + ",eps=" + fmtFloat(*eps);
    }
    if (v.kind == ValueAST::Call)
      for (const ArgAST &arg : v.call->args)
        if (arg.name.empty())
          return diag.error(arg.value.loc, "optimizer settings are named: lr=..., ...");
    if (!o.finish())
      return false;
    put("optimizer", text + ")");
  }
  if (auto e = opts.getInt("epochs", 10, 1, s.getLoc()))
    put("epochs", std::to_string(*e));
  if (auto b = opts.getInt("batch", 32, 1, s.getLoc()))
    put("batch", std::to_string(*b));
  if (const ArgAST *a = opts.get("clip")) {
    if (!a->value.isNumber() || a->value.asDouble() <= 0)
      return diag.error(a->value.loc, "clip must be a positive number (the maximum global "
                                      "gradient norm)");
    put("clip", fmtFloat(a->value.asDouble()));
  }
  if (auto wd = opts.getFloat("weight_decay", 0, 0, 1))
    if (*wd > 0)
      put("weight_decay", fmtFloat(*wd));
  if (auto vs = opts.getFloat("validation", 0, 0, 0.9))
    if (*vs > 0)
      put("validation", fmtFloat(*vs));
  if (const ArgAST *a = opts.get("seed")) {
    if (a->value.kind != ValueAST::Int || a->value.intValue < 0)
      return diag.error(a->value.loc, "seed must be a non-negative integer");
    put("seed", std::to_string(a->value.intValue));
  }
  if (const ArgAST *a = opts.get("bptt")) {
    const ValueAST &v = a->value;
    m.bpttLoc = v.loc;
    if (v.kind == ValueAST::Name && v.text == "full") {
      put("bptt", "full");
    } else if (v.kind == ValueAST::Call && v.call->callee == "truncate") {
      std::vector<int64_t> ks;
      for (const ArgAST &arg : v.call->args) {
        if (!arg.name.empty() || arg.value.kind != ValueAST::Int || arg.value.intValue < 1)
          return diag.error(arg.value.loc, "truncate takes one or two positive step counts: "
                                           "truncate(K) or truncate(K1, K2)");
        ks.push_back(arg.value.intValue);
      }
      if (ks.empty() || ks.size() > 2)
        return diag.error(v.loc, "truncate takes one or two step counts: truncate(K) or "
                                 "truncate(K1, K2)");
      if (ks.size() == 2 && ks[1] > ks[0])
        return diag.error(v.call->args[1].value.loc,
                          "the back-propagation length K2 must not exceed the forward "
                          "length K1");
      put("bptt", "truncate(" + std::to_string(ks[0]) +
                      (ks.size() == 2 ? "," + std::to_string(ks[1]) : "") + ")");
    } else if (v.kind == ValueAST::Call && v.call->callee == "budget") {
      if (v.call->args.size() != 1 || !v.call->args[0].value.isNumber() ||
          v.call->args[0].value.asDouble() <= 0)
        return diag.error(v.loc, "budget takes the activation memory budget in MiB: budget(64)");
      put("bptt", "budget(" + fmtFloat(v.call->args[0].value.asDouble()) + ")");
    } else {
      return diag.error(v.loc, "bptt must be full, truncate(K), truncate(K1, K2) or budget(MiB)");
    }
  }
  return opts.finish();
}

bool Sema::checkDecoder(const DecoderStmt &s) {
  if (!declareName(s.name, s.getLoc(), top))
    return false;
  Options opts(diag, "decoder", s.options);
  Node n;
  n.layer = Layer::Decoder;
  n.name = s.name;
  n.loc = s.getLoc();
  const ArgAST *vocabArg = opts.get("vocab");
  const ArgAST *initArg = opts.get("init");
  const ArgAST *startArg = opts.get("start");
  const ArgAST *endArg = opts.get("end");
  const ArgAST *teacherArg = opts.get("teacher");
  auto maxLen = opts.getInt("max_len", 50, 1, s.getLoc());
  if (!opts.finish() || !maxLen)
    return false;
  if (!vocabArg)
    return diag.error(s.getLoc(), "decoder needs option 'vocab' naming the output vocabulary");
  if (vocabArg->value.kind != ValueAST::Name)
    return diag.error(vocabArg->value.loc, "option 'vocab' of decoder must name a vocabulary");
  const Vocab *vocab = m.findVocab(vocabArg->value.text);
  if (!vocab)
    return diag.error(vocabArg->value.loc, "unknown vocabulary '" + vocabArg->value.text + "'");
  int64_t tokenIds[2] = {0, 0};
  for (auto [k, tokArg] : llvm::enumerate(std::array<const ArgAST *, 2>{startArg, endArg})) {
    if (!tokArg)
      return diag.error(s.getLoc(), "decoder needs options 'start' and 'end' (tokens of " +
                                        vocab->name + ")");
    bool ok = tokArg->value.kind == ValueAST::String;
    if (ok && vocab->kind == Vocab::Ids) {
      // An ids vocabulary names its tokens by number: start="1".
      ok = !StringRef(tokArg->value.text).getAsInteger(10, tokenIds[k]) && tokenIds[k] >= 0 &&
           tokenIds[k] < vocab->size;
    } else if (ok) {
      auto it = llvm::find(vocab->tokens, tokArg->value.text);
      ok = it != vocab->tokens.end();
      tokenIds[k] = it - vocab->tokens.begin();
    }
    if (!ok)
      return diag.error(tokArg->value.loc, "'" + tokArg->name + "' must be a token of vocab '" +
                                               vocab->name + "'" +
                                               (vocab->kind == Vocab::Ids
                                                    ? " (an id below " + std::to_string(vocab->size) + ")"
                                                    : std::string()));
  }
  n.startToken = tokenIds[0];
  n.endToken = tokenIds[1];
  if (initArg) {
    std::vector<const ValueAST *> items;
    if (initArg->value.kind == ValueAST::List)
      for (const ValueAST &v : initArg->value.list)
        items.push_back(&v);
    else
      items.push_back(&initArg->value);
    for (const ValueAST *v : items) {
      auto r = evalValue(*v, top, false);
      if (!r)
        return false;
      n.initialState.push_back(*r);
    }
  }
  Dim batch{"B", -1}, steps{s.name + "_T", -1};
  if (teacherArg) {
    auto r = evalValue(teacherArg->value, top, false);
    if (!r)
      return false;
    const VType &t = m.typeOf(*r);
    if (t.kind != VType::Tokens || t.vocab != vocab->name || t.shape.size() != 2)
      return diag.error(teacherArg->value.loc, "teacher must be the target token sequence "
                                               "tokens[B, T] of " + vocab->name);
    n.operands.push_back(*r);
    // Teacher forcing runs one step per target token, so the scores line up
    // with the target in a loss.
    batch = t.shape[0];
    steps = t.shape[1];
  } else if (!n.initialState.empty()) {
    const VType &st = m.typeOf(n.initialState.front());
    if (st.shape.size() >= 2)
      batch = st.shape[st.shape.size() - 2];
  }
  // The body runs once per output step, with `prev` the previous token.
  Scope body;
  body.parent = &top;
  Node prev;
  prev.layer = Layer::Input;
  prev.name = "prev";
  prev.loc = s.getLoc();
  VType pt;
  pt.kind = VType::Tokens;
  pt.shape = {batch};
  pt.vocab = vocab->name;
  pt.classes = vocab->size;
  prev.results.push_back(pt);
  int prevId = addNode(std::move(prev));
  n.decoderPrev = prevId;
  body.names["prev"] = {{prevId, 0}, s.getLoc()};
  const NextStmt *next = nullptr;
  for (const auto &st : s.body) {
    if (auto *b = llvm::dyn_cast<BindingStmt>(st.get())) {
      if (!checkBinding(*b, body))
        return false;
    } else if (auto *nx = llvm::dyn_cast<NextStmt>(st.get())) {
      if (next) {
        diag.error(nx->getLoc(), "a decoder body has exactly one 'next'");
        diag.note(next->getLoc(), "previous 'next' here");
        return false;
      }
      next = nx;
      auto r = evalValue(nx->value, body, true);
      if (!r)
        return false;
      const VType &t = m.typeOf(*r);
      if (t.kind != VType::F32 || t.shape.size() != 2 || t.shape.back().size != vocab->size)
        return diag.error(nx->value.loc, "'next' must give scores over vocab '" + vocab->name +
                                             "' (f32[B, " + std::to_string(vocab->size) +
                                             "]), got " + t.str());
      n.operands.insert(n.operands.begin(), *r);
    } else {
      return diag.error(st->getLoc(), "only bindings and 'next' are allowed in a decoder body");
    }
  }
  if (!next)
    return diag.error(s.getLoc(), "a decoder body must end with 'next SCORES'");
  n.units = *maxLen;
  VType out;
  out.kind = VType::F32;
  out.shape = {batch, steps, Dim{"", vocab->size}};
  n.results.push_back(out);
  int id = addNode(std::move(n));
  top.names[s.name] = {{id, 0}, s.getLoc()};
  for (auto &[name, ref] : body.names)
    if (name != "prev")
      decoderBodies[id][name] = ref.first;
  return true;
}

std::optional<ValueRef> Sema::evalBodyValue(const ValueAST &v, Scope &scope) {
  auto [decName, member] = StringRef(v.text).split('.');
  auto *d = scope.lookup(decName.str());
  if (!d || m.nodes[d->first.node].layer != Layer::Decoder) {
    if (!d && failedNames.count(decName.str()))
      return std::nullopt;
    diag.error(v.loc, "'" + v.text + "': '" + decName + "' is not " +
                          (d ? "a decoder" : "defined") +
                          " (DECODER.NAME is the value NAME of a decoder's body at every step)");
    return std::nullopt;
  }
  int id = d->first.node;
  const auto &bodyNames = decoderBodies[id];
  auto it = bodyNames.find(member.str());
  if (member == "prev") {
    diag.error(v.loc, "'" + v.text + "' refers to 'prev', the decoder's previous token; only "
                                     "float values of a decoder's body can be read outside it");
    return std::nullopt;
  }
  if (it == bodyNames.end()) {
    std::string known;
    for (auto &[name, ref] : bodyNames)
      known += (known.empty() ? "" : ", ") + name;
    diag.error(v.loc, "decoder '" + decName + "' has no binding '" + member + "' in its body" +
                          (known.empty() ? std::string() : " (it binds " + known + ")"));
    return std::nullopt;
  }
  const VType &t = m.typeOf(it->second);
  if (t.kind != VType::F32) {
    diag.error(v.loc, "'" + v.text + "' is " + t.str() +
                          "; only float values of a decoder's body can be read outside it");
    return std::nullopt;
  }
  // The value at every step: a sequence [B, steps, ...], one more result of
  // the decoder (the same reference gives the same result).
  Node &dn = m.nodes[id];
  for (unsigned k = 0; k < dn.bodyOutputs.size(); ++k)
    if (dn.bodyOutputs[k].node == it->second.node && dn.bodyOutputs[k].result == it->second.result)
      return ValueRef{id, k + 1};
  VType seq = t;
  seq.shape.insert(seq.shape.begin() + 1, dn.results[0].shape[1]);
  dn.bodyOutputs.push_back(it->second);
  dn.results.push_back(seq);
  return ValueRef{id, static_cast<unsigned>(dn.results.size() - 1)};
}

//===----------------------------------------------------------------------===//
// Values and layer calls
//===----------------------------------------------------------------------===//

std::optional<ValueRef> Sema::evalValue(const ValueAST &v, Scope &scope, bool inDecoder) {
  if (v.kind == ValueAST::Name) {
    if (auto *e = scope.lookup(v.text))
      return e->first;
    if (v.text.find('.') != std::string::npos)
      return evalBodyValue(v, scope);
    if (vocabLocs.count(v.text)) {
      diag.error(v.loc, "'" + v.text + "' is a vocabulary, not a value");
      return std::nullopt;
    }
    if (failedNames.count(v.text))
      return std::nullopt; // its definition has been reported
    if (v.text == "prev" && !inDecoder) {
      diag.error(v.loc, "'prev' (the previous output token) is only defined inside a decoder body");
      return std::nullopt;
    }
    diag.error(v.loc, "undefined name '" + v.text + "'");
    return std::nullopt;
  }
  if (v.kind == ValueAST::Call) {
    auto id = evalCall(*v.call, scope, "", inDecoder);
    if (!id)
      return std::nullopt;
    if (m.nodes[*id].results.size() != 1) {
      diag.error(v.loc, v.call->callee + " returns several values; bind them to names first");
      return std::nullopt;
    }
    return ValueRef{*id, 0};
  }
  diag.error(v.loc, "expected a name or a layer call");
  return std::nullopt;
}

bool Sema::requireFloatSeq(const Node &n, const VType &t, const std::string &what, SMLoc loc,
                           size_t minRank, size_t maxRank) {
  (void)n;
  if (t.kind == VType::Tokens)
    return diag.error(loc, what + " expects float features, but its input is " + t.str() +
                               "; apply onehot() or embedding() to token ids first");
  if (t.kind != VType::F32)
    return diag.error(loc, what + " expects float features, but its input is " + t.str());
  if (t.shape.size() < minRank || t.shape.size() > maxRank) {
    if (minRank == 3)
      return diag.error(loc, what + " expects a sequence f32[B, T, F], but its input is " +
                                 t.str() + " (no time axis)");
    return diag.error(loc, what + " expects " +
                               (maxRank == 2 ? std::string("f32[B, F]") : "f32[B, F] or f32[B, T, F]") +
                               ", but its input is " + t.str());
  }
  return true;
}

std::optional<int> Sema::evalCall(const CallAST &call, Scope &scope, const std::string &bindName,
                                  bool inDecoder) {
  std::optional<Layer> layer = llvm::StringSwitch<std::optional<Layer>>(call.callee)
                                   .Case("onehot", Layer::OneHot)
                                   .Case("embedding", Layer::Embedding)
                                   .Cases({"rnn", "lstm", "gru"}, Layer::Recurrent)
                                   .Cases({"rnn_cell", "lstm_cell", "gru_cell"}, Layer::Cell)
                                   .Case("dense", Layer::Dense)
                                   .Case("softmax", Layer::Softmax)
                                   .Case("concat", Layer::Concat)
                                   .Case("dropout", Layer::Dropout)
                                   .Case("attention", Layer::Attention)
                                   .Case("last", Layer::Last)
                                   .Default(std::nullopt);
  if (!layer) {
    static const std::vector<std::string> layers = {
        "onehot", "embedding", "rnn",       "lstm", "gru",      "dense",     "softmax",
        "concat", "dropout",   "attention", "last", "rnn_cell", "lstm_cell", "gru_cell"};
    if (auto guess = closest(call.callee, layers))
      diag.error(call.loc, "unknown layer '" + call.callee + "'; did you mean '" + *guess + "'?");
    else
      diag.error(call.loc, "unknown layer '" + call.callee +
                               "' (expected onehot, embedding, rnn, lstm, gru, dense, softmax, "
                               "concat, dropout, attention, last; inside a decoder also "
                               "rnn_cell, lstm_cell, gru_cell)");
    return std::nullopt;
  }
  Node n;
  n.layer = *layer;
  n.name = bindName;
  n.loc = call.loc;
  const std::string &L = call.callee;

  // Positional arguments are the operands.
  std::vector<const ValueAST *> posArgs;
  for (const ArgAST &a : call.args) {
    if (a.name.empty())
      posArgs.push_back(&a.value);
    else
      n.optionLocs[a.name] = a.nameLoc;
  }
  size_t minOps = 1, maxOps = 1;
  if (*layer == Layer::Concat)
    minOps = 2, maxOps = 64;
  if (*layer == Layer::Attention)
    minOps = maxOps = 2;
  if (posArgs.size() < minOps || posArgs.size() > maxOps) {
    std::string count = minOps == maxOps          ? std::to_string(minOps)
                        : posArgs.size() < minOps ? "at least " + std::to_string(minOps)
                                                  : "at most " + std::to_string(maxOps);
    // Point at the first extra input, or at the call when inputs are missing.
    diag.error(posArgs.size() > maxOps ? posArgs[maxOps]->loc : call.loc,
               L + " takes " + count + " input value" + (maxOps == 1 ? "" : "s") + ", got " +
                   std::to_string(posArgs.size()));
    return std::nullopt;
  }
  std::vector<VType> opTypes;
  for (const ValueAST *v : posArgs) {
    auto r = evalValue(*v, scope, inDecoder);
    if (!r)
      return std::nullopt;
    n.operands.push_back(*r);
    opTypes.push_back(m.typeOf(*r));
  }
  const VType &in = opTypes.front();
  SMLoc inLoc = posArgs.front()->loc;
  Options opts(diag, L, call.args);
  auto needName = [&]() {
    if (bindName.empty()) {
      diag.error(call.loc, L + " has parameters, so it must be bound to a name (its parameters "
                               "are named after it): write 'NAME = " + L + "(...)'");
      return false;
    }
    return true;
  };
  auto uniform = [](double bound) { return "uniform:" + fmtFloat(bound); };

  switch (*layer) {
  case Layer::OneHot: {
    if (in.kind != VType::Tokens) {
      diag.error(inLoc, "onehot expects token ids, but " + describeOperand(*posArgs[0], in));
      return std::nullopt;
    }
    if (!opts.finish())
      return std::nullopt;
    VType t;
    t.kind = VType::F32;
    t.shape = in.shape;
    t.shape.push_back(Dim{"", in.classes});
    n.results.push_back(t);
    break;
  }
  case Layer::Embedding: {
    if (in.kind != VType::Tokens) {
      diag.error(inLoc, "embedding expects token ids, but " + describeOperand(*posArgs[0], in));
      return std::nullopt;
    }
    auto dim = opts.getInt("dim", std::nullopt, 1, call.loc);
    auto mz = opts.getBool("mask_zero", false);
    if (!opts.finish() || !dim || !mz || !needName())
      return std::nullopt;
    n.dim = *dim;
    n.maskZero = *mz;
    // mask_zero: row 0 is PyTorch's padding_idx=0 row (zero, no gradient).
    n.params.push_back({bindName + ".weight", {in.classes, *dim}, "normal:1", *mz ? 0 : -1});
    VType t;
    t.kind = VType::F32;
    t.shape = in.shape;
    t.shape.push_back(Dim{"", *dim});
    n.results.push_back(t);
    break;
  }
  case Layer::Recurrent:
  case Layer::Cell: {
    StringRef base = StringRef(L).split('_').first;
    n.cell = base == "rnn" ? CellKind::RNN : base == "lstm" ? CellKind::LSTM : CellKind::GRU;
    bool isCell = *layer == Layer::Cell;
    if (isCell && !inDecoder) {
      diag.error(call.loc, L + " is only allowed inside a decoder body; use " + base.str() +
                               "(...) for a sequence");
      return std::nullopt;
    }
    if (!requireFloatSeq(n, in, L, inLoc, isCell ? 2 : 3, isCell ? 2 : 3))
      return std::nullopt;
    auto hidden = opts.getInt("hidden", std::nullopt, 1, call.loc);
    std::optional<int64_t> layers = 1;
    std::optional<bool> bidi = false, retSeq = false, retState = false;
    std::optional<std::string> dir = "forward";
    std::optional<double> dropout = 0;
    std::vector<SMLoc> initLocs; // of the initial_state values
    if (!isCell) {
      layers = opts.getInt("layers", 1, 1, call.loc, kMaxLayers);
      bidi = opts.getBool("bidirectional", false);
      dir = opts.getChoice("direction", "forward", {"forward", "reverse"});
      retSeq = opts.getBool("return_sequences", false);
      retState = opts.getBool("return_state", false);
      dropout = opts.getFloat("dropout", 0, 0, 0.999);
      if (const ArgAST *a = opts.get("lengths")) {
        auto r = evalValue(a->value, scope, inDecoder);
        if (!r)
          return std::nullopt;
        const VType &lt = m.typeOf(*r);
        if (lt.kind != VType::Lengths || lt.shape.front() != in.shape.front()) {
          diag.error(a->value.loc, "lengths must be a lengths[" + in.shape.front().str() +
                                       "] input, but it is " + lt.str());
          return std::nullopt;
        }
        n.lengths = *r;
      }
      if (const ArgAST *a = opts.get("initial_state")) {
        std::vector<const ValueAST *> items;
        if (a->value.kind == ValueAST::List)
          for (const ValueAST &v : a->value.list)
            items.push_back(&v);
        else
          items.push_back(&a->value);
        size_t want = n.cell == CellKind::LSTM ? 2 : 1;
        if (items.size() != want) {
          diag.error(a->value.loc, "initial_state of " + L + " takes " + std::to_string(want) +
                                       (want == 2 ? " values [h0, c0]" : " value h0"));
          return std::nullopt;
        }
        for (const ValueAST *v : items) {
          auto r = evalValue(*v, scope, inDecoder);
          if (!r)
            return std::nullopt;
          n.initialState.push_back(*r);
          initLocs.push_back(v->loc);
        }
      }
    }
    auto act = n.cell == CellKind::RNN ? opts.getChoice("nonlinearity", "tanh", {"tanh", "relu"})
                                       : std::optional<std::string>("tanh");
    if (!opts.finish() || !hidden || !layers || !bidi || !retSeq || !retState || !dir ||
        !dropout || !act || !needName())
      return std::nullopt;
    if (*bidi && n.optionLocs.count("direction")) {
      diag.error(n.optionLocs["direction"], "direction cannot be combined with bidirectional=true");
      return std::nullopt;
    }
    if (*dropout > 0 && *layers == 1) {
      diag.error(n.optionLocs["dropout"], "dropout applies between stacked layers; it needs "
                                          "layers > 1 (use dropout(x, rate=...) elsewhere)");
      return std::nullopt;
    }
    n.hidden = *hidden;
    n.layers = *layers;
    n.direction = *bidi ? Direction::Bidirectional
                        : (*dir == "reverse" ? Direction::Reverse : Direction::Forward);
    n.returnSequences = *retSeq;
    n.returnState = *retState;
    n.rate = *dropout;
    n.activation = *act == "relu" ? Activation::Relu : Activation::Tanh;
    int64_t gates = (n.cell == CellKind::RNN ? 1 : n.cell == CellKind::LSTM ? 4 : 3) * n.hidden;
    int64_t dirs = n.direction == Direction::Bidirectional ? 2 : 1;
    double bound = 1.0 / std::sqrt(double(n.hidden));
    for (int64_t l = 0; l < n.layers; ++l)
      for (int64_t d = 0; d < dirs; ++d) {
        std::string sfx = "_l" + std::to_string(l) + (d ? "_reverse" : "");
        int64_t inDim = l == 0 ? in.shape.back().size : dirs * n.hidden;
        if (isCell) // decoder cells: torch.nn.LSTMCell naming
          sfx = "";
        n.params.push_back({bindName + ".weight_ih" + sfx, {gates, inDim}, uniform(bound)});
        n.params.push_back({bindName + ".weight_hh" + sfx, {gates, n.hidden}, uniform(bound)});
        n.params.push_back({bindName + ".bias_ih" + sfx, {gates}, uniform(bound)});
        n.params.push_back({bindName + ".bias_hh" + sfx, {gates}, uniform(bound)});
      }
    for (size_t i = 0; i < n.initialState.size(); ++i) {
      const VType &st = m.typeOf(n.initialState[i]);
      std::vector<Dim> expect = {Dim{"", n.layers * dirs}, in.shape.front(), Dim{"", n.hidden}};
      if (st.kind != VType::F32 || (st.shape != expect && !(n.layers * dirs == 1 &&
                                                            st.shape.size() == 2 &&
                                                            st.shape[0] == expect[1] &&
                                                            st.shape[1] == expect[2]))) {
        diag.error(initLocs[i], "initial state " + std::to_string(i) + " of " + L + " must be " +
                                    shapeStr(expect) + " (like h_n), but it is " + st.str());
        return std::nullopt;
      }
    }
    VType out;
    out.kind = VType::F32;
    out.shape = {in.shape[0]};
    if (n.returnSequences)
      out.shape.push_back(in.shape[1]);
    out.shape.push_back(Dim{"", dirs * n.hidden});
    if (isCell)
      out.shape = {in.shape[0], Dim{"", n.hidden}};
    n.results.push_back(out);
    if (n.returnState) {
      VType st;
      st.kind = VType::F32;
      st.shape = {Dim{"", n.layers * dirs}, in.shape[0], Dim{"", n.hidden}};
      n.results.push_back(st);
      if (n.cell == CellKind::LSTM)
        n.results.push_back(st);
    }
    break;
  }
  case Layer::Dense: {
    if (!requireFloatSeq(n, in, "dense", inLoc, 2, 3))
      return std::nullopt;
    const ArgAST *unitsArg = opts.get("units");
    auto act = opts.getChoice("activation", "none", {"none", "tanh", "relu", "sigmoid"});
    auto bias = opts.getBool("bias", true);
    if (!unitsArg) {
      diag.error(call.loc, "dense needs option 'units'");
      return std::nullopt;
    }
    if (unitsArg->value.kind == ValueAST::Name) {
      const Vocab *v = m.findVocab(unitsArg->value.text);
      if (!v) {
        diag.error(unitsArg->value.loc,
                   "unknown vocabulary '" + unitsArg->value.text +
                       "' (option 'units' of dense must be a positive integer or a vocabulary "
                       "name)");
        return std::nullopt;
      }
      n.units = v->size;
    } else if (unitsArg->value.kind == ValueAST::Int && unitsArg->value.intValue > kMaxSize) {
      diag.error(unitsArg->value.loc, "option 'units' of dense must be at most " + Twine(kMaxSize));
      return std::nullopt;
    } else if (unitsArg->value.kind == ValueAST::Int && unitsArg->value.intValue > 0) {
      n.units = unitsArg->value.intValue;
    } else {
      diag.error(unitsArg->value.loc,
                 "option 'units' of dense must be a positive integer or a vocabulary name");
      return std::nullopt;
    }
    if (!opts.finish() || !act || !bias || !needName())
      return std::nullopt;
    n.activation = llvm::StringSwitch<Activation>(*act)
                       .Case("tanh", Activation::Tanh)
                       .Case("relu", Activation::Relu)
                       .Case("sigmoid", Activation::Sigmoid)
                       .Default(Activation::None);
    n.bias = *bias;
    int64_t inDim = in.shape.back().size;
    double bound = 1.0 / std::sqrt(double(inDim));
    n.params.push_back({bindName + ".weight", {n.units, inDim}, uniform(bound)});
    if (n.bias)
      n.params.push_back({bindName + ".bias", {n.units}, uniform(bound)});
    VType t = in;
    t.shape.back() = Dim{"", n.units};
    n.results.push_back(t);
    break;
  }
  case Layer::Softmax:
  case Layer::Dropout: {
    if (!requireFloatSeq(n, in, L, inLoc, 2, 3))
      return std::nullopt;
    if (*layer == Layer::Dropout) {
      auto rate = opts.getFloat("rate", 0.5, 0, 0.999);
      if (!rate)
        return std::nullopt;
      n.rate = *rate;
    }
    if (!opts.finish())
      return std::nullopt;
    n.results.push_back(in);
    break;
  }
  case Layer::Concat: {
    auto axis = opts.get("axis");
    if (!opts.finish())
      return std::nullopt;
    if (axis && (axis->value.kind != ValueAST::Int || axis->value.intValue != -1)) {
      diag.error(axis->value.loc, "concat joins feature axes only: axis must be -1");
      return std::nullopt;
    }
    VType t = in;
    int64_t total = 0;
    for (size_t i = 0; i < opTypes.size(); ++i) {
      const VType &o = opTypes[i];
      if (!requireFloatSeq(n, o, "concat", posArgs[i]->loc, 2, 3))
        return std::nullopt;
      if (o.shape.size() != in.shape.size() ||
          !std::equal(o.shape.begin(), o.shape.end() - 1, in.shape.begin())) {
        diag.error(posArgs[i]->loc, "concat inputs must agree on every axis but the last: " +
                                        o.str() + " vs " + in.str());
        return std::nullopt;
      }
      total += o.shape.back().size;
    }
    t.shape.back() = Dim{"", total};
    n.results.push_back(t);
    break;
  }
  case Layer::Last: {
    if (!requireFloatSeq(n, in, "last", inLoc, 3, 3))
      return std::nullopt;
    if (const ArgAST *a = opts.get("lengths")) {
      auto r = evalValue(a->value, scope, inDecoder);
      if (!r)
        return std::nullopt;
      if (m.typeOf(*r).kind != VType::Lengths) {
        diag.error(a->value.loc, "lengths must be a lengths[B] input");
        return std::nullopt;
      }
      n.lengths = *r;
    }
    if (!opts.finish())
      return std::nullopt;
    VType t = in;
    t.shape.erase(t.shape.begin() + 1);
    n.results.push_back(t);
    break;
  }
  case Layer::Attention: {
    const VType &keys = opTypes[1];
    if (!requireFloatSeq(n, in, "attention", inLoc, 2, 3) ||
        !requireFloatSeq(n, keys, "attention", posArgs[1]->loc, 3, 3))
      return std::nullopt;
    auto kind = opts.getChoice("kind", "dot", {"dot", "general", "additive"});
    auto units = opts.getInt("units", 0, 0, call.loc);
    if (const ArgAST *a = opts.get("lengths")) {
      auto r = evalValue(a->value, scope, inDecoder);
      if (!r)
        return std::nullopt;
      if (m.typeOf(*r).kind != VType::Lengths) {
        diag.error(a->value.loc, "lengths must be the source lengths[B] input");
        return std::nullopt;
      }
      n.lengths = *r;
    }
    if (!opts.finish() || !kind || !units)
      return std::nullopt;
    n.attention = *kind;
    int64_t hq = in.shape.back().size, hk = keys.shape.back().size;
    if (*kind == "dot" && hq != hk) {
      diag.error(call.loc, "dot attention needs query and key sizes to match (" +
                               std::to_string(hq) + " vs " + std::to_string(hk) +
                               "); use kind=general or kind=additive");
      return std::nullopt;
    }
    if (*kind != "dot" && !needName())
      return std::nullopt;
    if (*kind == "general")
      n.params.push_back({bindName + ".weight", {hq, hk}, uniform(1.0 / std::sqrt(double(hk)))});
    if (*kind == "additive") {
      int64_t a = *units ? *units : hq;
      n.units = a;
      n.params.push_back({bindName + ".query.weight", {a, hq}, uniform(1.0 / std::sqrt(double(hq)))});
      n.params.push_back({bindName + ".key.weight", {a, hk}, uniform(1.0 / std::sqrt(double(hk)))});
      n.params.push_back({bindName + ".v.weight", {1, a}, uniform(1.0 / std::sqrt(double(a)))});
    }
    VType ctx = in;
    ctx.shape.back() = Dim{"", hk};
    VType w = in;
    w.shape.back() = keys.shape[1];
    n.results.push_back(ctx);
    n.results.push_back(w);
    break;
  }
  case Layer::Input:
  case Layer::Decoder:
    llvm_unreachable("not a call");
  }
  return addNode(std::move(n));
}

std::optional<Model> Sema::run(const ModuleAST &module) {
  if (module.stmts.empty()) {
    // Only blank lines and comments: point at the start of the file.
    llvm::SourceMgr &sm = diag.getSourceMgr();
    diag.error(SMLoc::getFromPointer(sm.getMemoryBuffer(sm.getMainFileID())->getBufferStart()),
               "empty model file; it must start with 'model NAME'");
    return std::nullopt;
  }
  bool ok = true;
  const ModelStmt *modelStmt = nullptr;
  // A misplaced 'model' is reported where it is, not also at the first statement.
  bool hasModel =
      llvm::any_of(module.stmts, [](const auto &st) { return llvm::isa<ModelStmt>(st.get()); });
  for (const auto &st : module.stmts) {
    if (auto *ms = llvm::dyn_cast<ModelStmt>(st.get())) {
      if (modelStmt) {
        diag.error(ms->getLoc(), "the file declares a second model");
        diag.note(modelStmt->getLoc(), "first model declared here");
        ok = false;
        continue;
      }
      if (st != module.stmts.front()) {
        diag.error(ms->getLoc(), "'model NAME' must be the first statement");
        ok = false;
      }
      modelStmt = ms;
      m.name = ms->name;
      m.loc = ms->getLoc();
      continue;
    }
    if (!hasModel && st == module.stmts.front()) {
      diag.error(st->getLoc(), "a model file must start with 'model NAME'");
      ok = false;
    }
    bool r = true;
    switch (st->getKind()) {
    case StmtAST::Vocab: r = checkVocab(*llvm::cast<VocabStmt>(st.get())); break;
    case StmtAST::Decl: {
      auto *d = llvm::cast<DeclStmt>(st.get());
      if (!(r = checkDecl(*d)) && !top.lookup(d->name))
        failedNames.insert(d->name);
      break;
    }
    case StmtAST::Binding: {
      auto *b = llvm::cast<BindingStmt>(st.get());
      if (!(r = checkBinding(*b, top)))
        for (auto &[name, loc] : b->names)
          if (!top.lookup(name))
            failedNames.insert(name);
      break;
    }
    case StmtAST::Output: r = checkOutput(*llvm::cast<OutputStmt>(st.get())); break;
    case StmtAST::Loss: r = checkLoss(*llvm::cast<LossStmt>(st.get())); break;
    case StmtAST::Train: r = checkTrain(*llvm::cast<TrainStmt>(st.get())); break;
    case StmtAST::Decoder: {
      auto *d = llvm::cast<DecoderStmt>(st.get());
      if (!(r = checkDecoder(*d)) && !top.lookup(d->name))
        failedNames.insert(d->name);
      break;
    }
    default: break;
    }
    ok &= r;
  }
  if (ok && m.outputs.empty()) {
    diag.error(m.loc, "model '" + m.name + "' has no output; add 'output NAME = value'");
    ok = false;
  }
  if (ok && m.inputs.empty()) {
    diag.error(m.loc, "model '" + m.name + "' has no input; add 'input NAME : TYPE'");
    ok = false;
  }
  if (!ok || diag.getNumErrors())
    return std::nullopt;
  return std::move(m);
}

} // namespace

std::optional<Model> rnnc::analyze(const ModuleAST &module, Diagnostics &diag,
                                   StringRef baseDir) {
  return Sema(diag, baseDir).run(module);
}
