import DenseNetEngine
import Foundation

/// How a Keras variable's values are laid out in its ONNX initializer.
enum InitializerLayout {
    /// As Keras stores it: biases, BatchNormalization vectors, Dense kernels ([in, out], Gemm's B).
    case asStored
    /// A Conv2D kernel: Keras' [H, W, in, out] to ONNX's [out, in, H, W].
    case oihw

    /// The float32 initializer `name` holding `variable`'s values in this layout (raw little-endian bytes).
    static func tensor(name: String, variable: Variable, layout: InitializerLayout) -> Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        let values = UnsafeBufferPointer(start: variable.data, count: variable.count)
        switch layout {
        case .asStored:
            proto.dims = variable.shape.map(Int64.init)
            proto.rawData = Data(buffer: values)
        case .oihw:
            let (h, w, i, o) = (variable.shape[0], variable.shape[1], variable.shape[2], variable.shape[3])
            proto.dims = [o, i, h, w].map(Int64.init)
            var transposed = [Float](repeating: 0, count: variable.count)
            for y in 0..<h {
                for x in 0..<w {
                    for input in 0..<i {
                        let source = ((y * w + x) * i + input) * o
                        for output in 0..<o { transposed[((output * i + input) * h + y) * w + x] = values[source + output] }
                    }
                }
            }
            proto.rawData = transposed.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        return proto
    }
}
