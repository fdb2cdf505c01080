//===- AST.cpp - Printing the syntax tree (rnnc --emit=ast) ----------------===//
#include "rnnc/AST.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"

using namespace rnnc;

namespace {
class ASTPrinter {
public:
  ASTPrinter(const llvm::SourceMgr &srcMgr, llvm::raw_ostream &os) : srcMgr(srcMgr), os(os) {}

  void print(const ModuleAST &m) {
    os << "Module\n";
    for (const auto &s : m.stmts)
      print(*s, 1);
  }

private:
  std::string at(llvm::SMLoc loc) {
    if (!loc.isValid())
      return "@?";
    auto [line, col] = srcMgr.getLineAndColumn(loc);
    return "@" + std::to_string(line) + ":" + std::to_string(col);
  }
  void indent(int depth) { os.indent(2 * depth); }

  void printValue(const ValueAST &v) {
    switch (v.kind) {
    case ValueAST::Int: os << v.intValue; break;
    case ValueAST::Float: os << llvm::format("%g", v.floatValue); break;
    case ValueAST::String: os << '"'; os.write_escaped(v.text); os << '"'; break;
    case ValueAST::Bool: os << (v.boolValue ? "true" : "false"); break;
    case ValueAST::None: os << "none"; break;
    case ValueAST::Name: os << v.text; break;
    case ValueAST::Call: printCall(*v.call); break;
    case ValueAST::List:
      os << '[';
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i) os << ", ";
        printValue(v.list[i]);
      }
      os << ']';
      break;
    }
  }
  void printArgs(const std::vector<ArgAST> &args) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (i) os << ", ";
      if (!args[i].name.empty())
        os << args[i].name << '=';
      printValue(args[i].value);
    }
  }
  void printCall(const CallAST &c) {
    os << c.callee << '(';
    printArgs(c.args);
    os << ')';
  }

  void print(const StmtAST &s, int depth) {
    indent(depth);
    llvm::TypeSwitch<const StmtAST *>(&s)
        .Case<ModelStmt>([&](auto *m) { os << "Model " << m->name; })
        .Case<VocabStmt>([&](auto *v) {
          os << "Vocab " << v->name << ' ';
          if (v->source == VocabStmt::Size)
            os << "size " << v->size;
          else {
            os << (v->source == VocabStmt::File ? "file " : "chars ") << '"';
            os.write_escaped(v->text);
            os << '"';
          }
        })
        .Case<DeclStmt>([&](auto *d) {
          static const char *kinds[] = {"tokens", "class", "f32", "lengths"};
          os << (d->isTarget ? "Target " : "Input ") << d->name << " : "
             << kinds[d->type.kind] << '[';
          for (size_t i = 0; i < d->type.dims.size(); ++i) {
            if (i) os << ", ";
            const DimAST &dim = d->type.dims[i];
            if (dim.symbol.empty()) os << dim.size; else os << dim.symbol;
          }
          os << ']';
          if (!d->type.of.empty()) os << " of " << d->type.of;
          if (d->type.classes > 0) os << " of " << d->type.classes;
        })
        .Case<BindingStmt>([&](auto *b) {
          os << "Binding ";
          for (size_t i = 0; i < b->names.size(); ++i)
            os << (i ? ", " : "") << b->names[i].first;
          os << " = ";
          printValue(b->value);
        })
        .Case<OutputStmt>([&](auto *o) {
          os << "Output " << o->name << " = ";
          printValue(o->value);
        })
        .Case<LossStmt>([&](auto *l) {
          os << "Loss ";
          printCall(l->call);
        })
        .Case<TrainStmt>([&](auto *t) {
          os << "Train ";
          printArgs(t->options);
        })
        .Case<NextStmt>([&](auto *n) {
          os << "Next ";
          printValue(n->value);
        })
        .Case<DecoderStmt>([&](auto *d) {
          os << "Decoder " << d->name << '(';
          printArgs(d->options);
          os << ") " << at(d->getLoc()) << '\n';
          for (const auto &inner : d->body)
            print(*inner, depth + 1);
        });
    if (!llvm::isa<DecoderStmt>(&s))
      os << ' ' << at(s.getLoc()) << '\n';
  }

  const llvm::SourceMgr &srcMgr;
  llvm::raw_ostream &os;
};
} // namespace

void rnnc::dumpAST(const ModuleAST &module, const llvm::SourceMgr &srcMgr,
                   llvm::raw_ostream &os) {
  ASTPrinter(srcMgr, os).print(module);
}
