// oneDNN peer of bench/run.sh: one RNN layer stack (lstm, gru, lbr_gru, rnn) with oneDNN's
// RNN primitives (oneDNN 2.x C++ API), timed like `prog bench`, or run once on given weights
// and input for the harness's numerical check.
//
//   dnnl_rnn --cell lstm|gru|lbr_gru|rnn --layers L --batch N --time T --input I --hidden H
//            [--train] [--iters N | --budget SEC] [--warmup W]
//            [--weights W.bin --x X.bin --out Y.bin [--target Y.bin --grads G.bin]]
//
// Timing: prints `bench: mode=infer|train median_ms=... min_ms=... iters=N`. Inference times
// one forward_inference execution; --train times forward_training + dL/dy of the MSE loss +
// backward (gradients of every weight and bias, no optimizer). Threads: OMP_NUM_THREADS.
// Inputs are already in the primitive's layout (tnc); weights are reordered to the
// primitive's preferred layout once, before timing (they do not change without an optimizer).
//
// Check mode (--weights): W.bin holds, for each layer, weight_ih [G*H, I_l], weight_hh
// [G*H, H], bias_ih [G*H], bias_hh [G*H] as float32 in PyTorch's layout and gate order
// (lstm i f g o, gru r z n); X.bin is the input [N, T, I] float32 (batch first). Writes the
// output [N, T, H] to Y.bin. With --target (float32 [N, T, H]) and --grads it also runs the
// training step and writes the loss (1 float) then the gradient of every PyTorch parameter
// (same order and layout as W.bin) to G.bin.
//
// GRU: oneDNN's `gru` applies the reset gate before the hidden matmul (W_hn (r * h)), which
// is not PyTorch's GRU; `lbr_gru` ("linear before reset": r * (W_hn h + b_hn)) is PyTorch's.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "dnnl_rnn: error: %s\n", msg.c_str());
  std::exit(1);
}

std::vector<float> readFloats(const std::string &path, size_t count) {
  std::vector<float> v(count);
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) die("cannot open " + path);
  size_t got = std::fread(v.data(), sizeof(float), count, f);
  char extra;
  bool more = std::fread(&extra, 1, 1, f) == 1;
  std::fclose(f);
  if (got != count || more)
    die(path + ": expected " + std::to_string(count) + " floats");
  return v;
}

void writeFloats(const std::string &path, const std::vector<float> &v) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(v.data(), sizeof(float), v.size(), f) != v.size())
    die("cannot write " + path);
  std::fclose(f);
}

void writeMem(const memory &m, const void *src, size_t bytes) {
  std::memcpy(m.get_data_handle(), src, bytes);
}

double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct Opts {
  std::string cell = "lstm";
  long layers = 1, batch = 1, time = 100, input = 64, hidden = 256;
  bool train = false;
  long iters = 0, warmup = 3;
  double budget = 1.0;
  std::string weights, x, out, target, grads;
};

Opts parse(int argc, char **argv) {
  Opts o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--cell") o.cell = val();
    else if (a == "--layers") o.layers = std::stol(val());
    else if (a == "--batch") o.batch = std::stol(val());
    else if (a == "--time") o.time = std::stol(val());
    else if (a == "--input") o.input = std::stol(val());
    else if (a == "--hidden") o.hidden = std::stol(val());
    else if (a == "--train") o.train = true;
    else if (a == "--iters" || a == "-n") o.iters = std::stol(val());
    else if (a == "--warmup") o.warmup = std::stol(val());
    else if (a == "--budget") o.budget = std::stod(val());
    else if (a == "--weights") o.weights = val();
    else if (a == "--x") o.x = val();
    else if (a == "--out") o.out = val();
    else if (a == "--target") o.target = val();
    else if (a == "--grads") o.grads = val();
    else if (a == "--version") {
      const dnnl_version_t *v = dnnl_version();
      std::printf("oneDNN %d.%d.%d\n", v->major, v->minor, v->patch);
      std::exit(0);
    } else die("unknown option " + a);
  }
  if (o.cell != "lstm" && o.cell != "gru" && o.cell != "lbr_gru" && o.cell != "rnn")
    die("--cell must be lstm, gru, lbr_gru or rnn");
  if (o.layers > 1 && o.input != o.hidden)
    die("a stacked oneDNN RNN primitive needs input == hidden");
  return o;
}

struct Rnn {
  Opts o;
  engine eng{engine::kind::cpu, 0};
  stream strm{eng};
  long G, GB;  // gates, bias gates (lbr_gru has one more)
  memory::dims srcDims, dstDims, wlDims, wiDims, bDims, iterDims;
  primitive_desc fwdPd, bwdPd;
  primitive fwd, bwd;
  // user-layout memories (PyTorch-derived): ldgoi weights, ldgo bias, tnc data
  memory uWl, uWi, uB;
  // primitive-layout memories
  memory src, dst, wl, wi, bias, ws;
  memory bwl, bwi;                         // weights in the backward primitive's layout
  memory dDst, dSrc, dWl, dWi, dBias;      // backward
  memory h0, c0, dH0, dC0;                 // training: zero initial states and their diffs
  std::vector<float> target;               // [T, N, H] (tnc)

  explicit Rnn(const Opts &opts) : o(opts) {
    G = o.cell == "lstm" ? 4 : o.cell == "rnn" ? 1 : 3;
    GB = o.cell == "lbr_gru" ? 4 : G;
    long L = o.layers, N = o.batch, T = o.time, I = o.input, H = o.hidden;
    srcDims = {T, N, I};
    dstDims = {T, N, H};
    wlDims = {L, 1, I, G, H};
    wiDims = {L, 1, H, G, H};
    bDims = {L, 1, GB, H};
    iterDims = {L, 1, N, H};
  }

  // Builds the forward (and backward) primitive descriptors for this cell.
  void build() {
    prop_kind pk = o.train ? prop_kind::forward_training : prop_kind::forward_inference;
    memory::desc srcMd(srcDims, dt::f32, tag::tnc), dstMd(dstDims, dt::f32, tag::tnc);
    memory::desc wlMd(wlDims, dt::f32, tag::any), wiMd(wiDims, dt::f32, tag::any);
    memory::desc bMd(bDims, dt::f32, tag::any), none;
    // Training passes explicit all-zero initial states (src_iter, and src_iter_c for LSTM):
    // oneDNN 2.6's LSTM backward computes a wrong diff_weights_iter when they are omitted
    // (as if h_{-1} were not zero), while its forward and the other cells are fine.
    memory::desc st = o.train ? memory::desc(iterDims, dt::f32, tag::ldnc) : none;
    auto dir = rnn_direction::unidirectional_left2right;
    dnnl_rnn_desc_t fd{}, bd{};
    if (o.cell == "lstm") {
      fd = lstm_forward::desc(pk, dir, srcMd, st, st, wlMd, wiMd, bMd, dstMd, none, none).data;
      if (o.train)
        bd = lstm_backward::desc(prop_kind::backward, dir, srcMd, st, st, wlMd, wiMd, bMd, dstMd,
                                 none, none, srcMd, st, st, wlMd, wiMd, bMd, dstMd, none,
                                 none).data;
    } else if (o.cell == "gru") {
      fd = gru_forward::desc(pk, dir, srcMd, st, wlMd, wiMd, bMd, dstMd, none).data;
      if (o.train)
        bd = gru_backward::desc(prop_kind::backward, dir, srcMd, st, wlMd, wiMd, bMd, dstMd,
                                none, srcMd, st, wlMd, wiMd, bMd, dstMd, none).data;
    } else if (o.cell == "lbr_gru") {
      fd = lbr_gru_forward::desc(pk, dir, srcMd, st, wlMd, wiMd, bMd, dstMd, none).data;
      if (o.train)
        bd = lbr_gru_backward::desc(prop_kind::backward, dir, srcMd, st, wlMd, wiMd, bMd,
                                    dstMd, none, srcMd, st, wlMd, wiMd, bMd, dstMd, none).data;
    } else {
      auto act = algorithm::eltwise_tanh;
      fd = vanilla_rnn_forward::desc(pk, act, dir, srcMd, st, wlMd, wiMd, bMd, dstMd, none).data;
      if (o.train)
        bd = vanilla_rnn_backward::desc(prop_kind::backward, act, dir, srcMd, st, wlMd, wiMd,
                                        bMd, dstMd, none, srcMd, st, wlMd, wiMd, bMd, dstMd,
                                        none).data;
    }
    fwdPd = primitive_desc(&fd, nullptr, eng, nullptr);
    fwd = primitive(fwdPd);
    src = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_SRC_LAYER), eng);
    dst = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_DST_LAYER), eng);
    wl = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_WEIGHTS_LAYER), eng);
    wi = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_WEIGHTS_ITER), eng);
    bias = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_BIAS), eng);
    uWl = memory({wlDims, dt::f32, tag::ldgoi}, eng);
    uWi = memory({wiDims, dt::f32, tag::ldgoi}, eng);
    uB = memory({bDims, dt::f32, tag::ldgo}, eng);
    if (o.train) {
      ws = memory(fwdPd.query_md(query::exec_arg_md, DNNL_ARG_WORKSPACE), eng);
      bwdPd = primitive_desc(&bd, nullptr, eng, fwdPd.get());
      bwd = primitive(bwdPd);
      auto md = [&](int arg) { return bwdPd.query_md(query::exec_arg_md, arg); };
      bwl = memory(md(DNNL_ARG_WEIGHTS_LAYER), eng);
      bwi = memory(md(DNNL_ARG_WEIGHTS_ITER), eng);
      dDst = memory(md(DNNL_ARG_DIFF_DST_LAYER), eng);
      dSrc = memory(md(DNNL_ARG_DIFF_SRC_LAYER), eng);
      dWl = memory(md(DNNL_ARG_DIFF_WEIGHTS_LAYER), eng);
      dWi = memory(md(DNNL_ARG_DIFF_WEIGHTS_ITER), eng);
      dBias = memory(md(DNNL_ARG_DIFF_BIAS), eng);
      h0 = memory(st, eng);
      dH0 = memory(st, eng);
      std::memset(h0.get_data_handle(), 0, st.get_size());
      if (o.cell == "lstm") {
        c0 = memory(st, eng);
        dC0 = memory(st, eng);
        std::memset(c0.get_data_handle(), 0, st.get_size());
      }
      if (md(DNNL_ARG_SRC_LAYER) != src.get_desc() || md(DNNL_ARG_DST_LAYER) != dst.get_desc() ||
          md(DNNL_ARG_BIAS) != bias.get_desc())
        die("backward primitive wants other data layouts than the forward one");
    }
  }

  // PyTorch gate g of the oneDNN gate slot k: GRU slots are (u, r, o) = PyTorch (z, r, n).
  long ptGate(long k) const {
    if (o.cell == "gru" || o.cell == "lbr_gru") return k == 0 ? 1 : k == 1 ? 0 : 2;
    return k;
  }

  // Fills the user-layout weights from PyTorch-layout tensors (see the header comment).
  void loadPyTorch(const std::vector<float> &w) {
    long L = o.layers, I = o.input, H = o.hidden;
    float *pWl = static_cast<float *>(uWl.get_data_handle());
    float *pWi = static_cast<float *>(uWi.get_data_handle());
    float *pB = static_cast<float *>(uB.get_data_handle());
    size_t off = 0;
    for (long l = 0; l < L; ++l) {
      long Il = l == 0 ? I : H;
      const float *wih = &w[off]; off += G * H * Il;
      const float *whh = &w[off]; off += G * H * H;
      const float *bih = &w[off]; off += G * H;
      const float *bhh = &w[off]; off += G * H;
      for (long k = 0; k < G; ++k) {  // ldgoi: [l][g][o][i], PyTorch row = gate * H + o
        long g = ptGate(k);
        std::memcpy(pWl + (l * G + k) * H * Il, wih + g * H * Il, sizeof(float) * H * Il);
        std::memcpy(pWi + (l * G + k) * H * H, whh + g * H * H, sizeof(float) * H * H);
        for (long j = 0; j < H; ++j) {
          float b = bih[g * H + j] + bhh[g * H + j];
          if (o.cell == "lbr_gru" && g == 2) b = bih[g * H + j];
          pB[(l * GB + k) * H + j] = b;
        }
      }
      if (o.cell == "lbr_gru")
        for (long j = 0; j < H; ++j) pB[(l * GB + 3) * H + j] = bhh[2 * H + j];
    }
    if (off != w.size()) die("weights file has the wrong size");
  }

  void randomWeights() {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f / std::sqrt(float(o.hidden)),
                                            1.0f / std::sqrt(float(o.hidden)));
    for (memory *m : {&uWl, &uWi, &uB}) {
      float *p = static_cast<float *>(m->get_data_handle());
      size_t n = m->get_desc().get_size() / sizeof(float);
      for (size_t i = 0; i < n; ++i) p[i] = u(rng);
    }
  }

  // User layouts -> primitive layouts (once; not timed).
  void reorderWeights() {
    reorder(uWl, wl).execute(strm, uWl, wl);
    reorder(uWi, wi).execute(strm, uWi, wi);
    reorder(uB, bias).execute(strm, uB, bias);
    if (o.train) {
      reorder(uWl, bwl).execute(strm, uWl, bwl);
      reorder(uWi, bwi).execute(strm, uWi, bwi);
    }
    strm.wait();
  }

  void forward() {
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, src},
                                            {DNNL_ARG_WEIGHTS_LAYER, wl},
                                            {DNNL_ARG_WEIGHTS_ITER, wi},
                                            {DNNL_ARG_BIAS, bias},
                                            {DNNL_ARG_DST_LAYER, dst}};
    if (o.train) {
      args[DNNL_ARG_WORKSPACE] = ws;
      args[DNNL_ARG_SRC_ITER] = h0;
      if (o.cell == "lstm") args[DNNL_ARG_SRC_ITER_C] = c0;
    }
    fwd.execute(strm, args);
    strm.wait();
  }

  // One training step: forward, dL/dy of mean((y - target)^2), backward. Returns the loss.
  float trainStep() {
    forward();
    const float *y = static_cast<const float *>(dst.get_data_handle());
    float *dy = static_cast<float *>(dDst.get_data_handle());
    size_t n = target.size();
    float scale = 2.0f / float(n);
    double loss = 0;
    for (size_t i = 0; i < n; ++i) {
      float d = y[i] - target[i];
      loss += double(d) * d;
      dy[i] = scale * d;
    }
    // The diff weights are accumulated into by oneDNN: clear them as a fresh step would.
    for (memory *m : {&dWl, &dWi, &dBias})
      std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, src},
                       {DNNL_ARG_WEIGHTS_LAYER, bwl},
                       {DNNL_ARG_WEIGHTS_ITER, bwi},
                       {DNNL_ARG_BIAS, bias},
                       {DNNL_ARG_DST_LAYER, dst},
                       {DNNL_ARG_WORKSPACE, ws},
                       {DNNL_ARG_DIFF_DST_LAYER, dDst},
                       {DNNL_ARG_DIFF_SRC_LAYER, dSrc},
                       {DNNL_ARG_DIFF_WEIGHTS_LAYER, dWl},
                       {DNNL_ARG_DIFF_WEIGHTS_ITER, dWi},
                       {DNNL_ARG_DIFF_BIAS, dBias},
                       {DNNL_ARG_SRC_ITER, h0},
                       {DNNL_ARG_DIFF_SRC_ITER, dH0}};
    if (o.cell == "lstm") {
      args[DNNL_ARG_SRC_ITER_C] = c0;
      args[DNNL_ARG_DIFF_SRC_ITER_C] = dC0;
    }
    bwd.execute(strm, args);
    strm.wait();
    return float(loss / double(n));
  }

  // Gradients back to PyTorch's parameters (layout and order of the weights file).
  std::vector<float> gradsPyTorch() {
    long L = o.layers, I = o.input, H = o.hidden;
    memory gWl({wlDims, dt::f32, tag::ldgoi}, eng), gWi({wiDims, dt::f32, tag::ldgoi}, eng),
        gB({bDims, dt::f32, tag::ldgo}, eng);
    reorder(dWl, gWl).execute(strm, dWl, gWl);
    reorder(dWi, gWi).execute(strm, dWi, gWi);
    reorder(dBias, gB).execute(strm, dBias, gB);
    strm.wait();
    const float *pWl = static_cast<const float *>(gWl.get_data_handle());
    const float *pWi = static_cast<const float *>(gWi.get_data_handle());
    const float *pB = static_cast<const float *>(gB.get_data_handle());
    std::vector<float> out;
    for (long l = 0; l < L; ++l) {
      long Il = l == 0 ? I : H;
      std::vector<float> wih(G * H * Il), whh(G * H * H), bih(G * H), bhh(G * H);
      for (long k = 0; k < G; ++k) {
        long g = ptGate(k);
        std::memcpy(&wih[g * H * Il], pWl + (l * G + k) * H * Il, sizeof(float) * H * Il);
        std::memcpy(&whh[g * H * H], pWi + (l * G + k) * H * H, sizeof(float) * H * H);
        for (long j = 0; j < H; ++j) {
          // b = b_ih + b_hh, so both get the gradient of b (lbr_gru: n-gate biases apart).
          bih[g * H + j] = bhh[g * H + j] = pB[(l * GB + k) * H + j];
        }
      }
      if (o.cell == "lbr_gru")
        for (long j = 0; j < H; ++j) bhh[2 * H + j] = pB[(l * GB + 3) * H + j];
      for (auto *v : {&wih, &whh, &bih, &bhh}) out.insert(out.end(), v->begin(), v->end());
    }
    return out;
  }
};

}  // namespace

int main(int argc, char **argv) {
  Opts o = parse(argc, argv);
  try {
    bool check = !o.weights.empty();
    if (check && (o.x.empty() || o.out.empty())) die("--weights needs --x and --out");
    bool gradCheck = check && !o.target.empty();
    if (gradCheck) {
      if (o.grads.empty()) die("--target needs --grads");
      o.train = true;
    }
    Rnn r(o);
    r.build();
    long L = o.layers, N = o.batch, T = o.time, I = o.input, H = o.hidden;
    if (check) {
      size_t wcount = 0;
      for (long l = 0; l < L; ++l) wcount += r.G * H * ((l ? H : I) + H + 2);
      r.loadPyTorch(readFloats(o.weights, wcount));
      memory ux({r.srcDims, dt::f32, tag::ntc}, r.eng);
      std::vector<float> x = readFloats(o.x, size_t(N * T * I));
      writeMem(ux, x.data(), x.size() * sizeof(float));
      reorder(ux, r.src).execute(r.strm, ux, r.src);
      r.strm.wait();
    } else {
      r.randomWeights();
      std::mt19937 rng(2);
      std::normal_distribution<float> nd(0.0f, 1.0f);
      float *p = static_cast<float *>(r.src.get_data_handle());
      for (size_t i = 0; i < size_t(T * N * I); ++i) p[i] = nd(rng);
    }
    r.reorderWeights();
    if (o.train) {
      r.target.resize(size_t(T * N * H));
      if (gradCheck) {  // [N, T, H] -> tnc
        std::vector<float> y = readFloats(o.target, size_t(N * T * H));
        for (long n = 0; n < N; ++n)
          for (long t = 0; t < T; ++t)
            std::memcpy(&r.target[(t * N + n) * H], &y[(n * T + t) * H], sizeof(float) * H);
      } else {
        std::mt19937 rng(3);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (float &v : r.target) v = nd(rng);
      }
    }
    if (check) {
      float loss = 0;
      if (gradCheck) {
        r.trainStep();  // twice: the second step shows whether the gradients accumulate
        loss = r.trainStep();
      } else {
        r.forward();
      }
      memory uy({r.dstDims, dt::f32, tag::ntc}, r.eng);
      reorder(r.dst, uy).execute(r.strm, r.dst, uy);
      r.strm.wait();
      const float *py = static_cast<const float *>(uy.get_data_handle());
      writeFloats(o.out, std::vector<float>(py, py + N * T * H));
      if (gradCheck) {
        std::vector<float> g = r.gradsPyTorch();
        g.insert(g.begin(), loss);
        writeFloats(o.grads, g);
      }
      return 0;
    }
    auto step = [&]() {
      if (o.train) r.trainStep();
      else r.forward();
    };
    for (long i = 0; i < o.warmup; ++i) step();
    std::vector<double> times;
    double start = nowMs();
    for (;;) {
      if (o.iters > 0 ? long(times.size()) >= o.iters
                      : (times.size() >= 3 && nowMs() - start >= o.budget * 1000.0) ||
                            times.size() >= 100000)
        break;
      double t0 = nowMs();
      step();
      times.push_back(nowMs() - t0);
    }
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    std::printf("bench: mode=%s median_ms=%.6g min_ms=%.6g iters=%zu\n",
                o.train ? "train" : "infer", median, times[0], n);
  } catch (const dnnl::error &e) {
    die(std::string("oneDNN: ") + e.what() + " (status " + std::to_string(int(e.status)) + ")");
  }
  return 0;
}
