// Linear regression with a hand-written gradient function, in the rnn dialect: pred = x W^T + b,
// loss = mse(pred, y). @linreg is the forward function, @linreg_grad the gradient function
// (loss, then d loss / d W, d loss / d b). Used by train-mlir.test (until .rnn models compile
// their gradient functions).
module attributes {rnn.model = "linreg",
    rnn.targets = [{dims = ["B", "2"], kind = "f32", name = "y"}],
    rnn.train = "optimizer=sgd(lr=0.1,momentum=0.9,nesterov=false) epochs=5 batch=4"} {
  func.func @linreg(%x: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "x", rnn.kind = "f32"},
                    %w: tensor<2x3xf32> {rnn.param = "lin.weight", rnn.init = "uniform:0.5"},
                    %b: tensor<2xf32> {rnn.param = "lin.bias", rnn.init = "uniform:0.5"})
      -> (tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.output = "pred"}) attributes {rnn.entry} {
    %p = rnn.dense none %x, %w, %b : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    return %p : tensor<?x2xf32>
  }
  func.func @linreg_grad(%x: tensor<?x3xf32> {rnn.dims = ["B", "3"], rnn.input = "x", rnn.kind = "f32"},
                         %y: tensor<?x2xf32> {rnn.dims = ["B", "2"], rnn.target = "y", rnn.kind = "f32"},
                         %w: tensor<2x3xf32> {rnn.param = "lin.weight", rnn.init = "uniform:0.5"},
                         %b: tensor<2xf32> {rnn.param = "lin.bias", rnn.init = "uniform:0.5"})
      -> (tensor<f32> {rnn.output = "loss"}, tensor<2x3xf32> {rnn.output = "lin.weight"},
          tensor<2xf32> {rnn.output = "lin.bias"}) attributes {rnn.grad_entry} {
    %p = rnn.dense none %x, %w, %b : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %l = rnn.mse %p, %y : tensor<?x2xf32>, tensor<?x2xf32> -> tensor<f32>
    %one = arith.constant dense<1.0> : tensor<f32>
    %dp = rnn.mse_grad %p, %y, %one : tensor<?x2xf32>, tensor<f32>
    %dx, %dw, %db = rnn.dense_grad %dp, %x, %w
        : (tensor<?x2xf32>, tensor<?x3xf32>, tensor<2x3xf32>) -> (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>)
    return %l, %dw, %db : tensor<f32>, tensor<2x3xf32>, tensor<2xf32>
  }
}
