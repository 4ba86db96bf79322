/// Calls `body` with the element offset of each element of a strided view (`shape`, `strides` in
/// elements, first element at `start`), in row-major order: NumPy's `ravel` of a view, used for
/// permuting layouts (`permute`) and for PyTorch's non-contiguous tensors.
func forEachStridedOffset(shape: [Int], strides: [Int], start: Int = 0, _ body: (Int) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var index = [Int](repeating: 0, count: shape.count)
    var source = start
    for _ in 0..<count {
        body(source)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            source += strides[axis]
            if index[axis] < shape[axis] { break }
            source -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}
