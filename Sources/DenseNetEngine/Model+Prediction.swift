extension Model {
    /// The model's outputs for a batch of inputs, as Keras' `model.predict(x)` (inference: BatchNorm
    /// uses its moving statistics, nothing is updated).
    ///
    /// - Parameters:
    ///   - input: `[N] + inputShape`, e.g. `[N, 28, 28, 1]` for the tutorial model: NHWC, scaled as in
    ///     training. N may be 0.
    ///   - batchSize: samples per forward pass; the results do not depend on it.
    /// - Returns: `[N] + outputShape`, e.g. `[N, 10]` class probabilities for a classifier.
    /// - Throws: `EngineError.shapeMismatch` when `input` is not `[N] + inputShape`.
    public func predict(_ input: Tensor, batchSize: Int = 32) throws -> Tensor {
        guard input.shape.count == inputShape.count + 1, Array(input.shape.dropFirst()) == inputShape else {
            throw EngineError.shapeMismatch(what: "predict's input (N × \(inputShape))", expected: [-1] + inputShape, got: input.shape)
        }
        let outputs = try predict(input.scalars, batchSize: max(1, batchSize))
        return try Tensor(shape: [input.shape[0]] + outputShape, scalars: outputs)
    }

    /// The most probable class of each input: the index of the largest of its outputs, as NumPy's
    /// `argmax(model.predict(x), axis=-1)` (the first of equal ones; the first NaN, if any).
    ///
    /// - Parameters:
    ///   - input: `[N] + inputShape`, as for ``predict(_:batchSize:)``.
    ///   - batchSize: samples per forward pass.
    /// - Returns: N class indices in `0..<outputShape[0]`.
    /// - Throws: `EngineError.shapeMismatch` for a wrong input shape, `EngineError.invalidArgument`
    ///   for a model whose output is not one vector of class scores per sample.
    public func predictClasses(_ input: Tensor, batchSize: Int = 32) throws -> [Int] {
        guard outputShape.count == 1, let classes = outputShape.first, classes > 0 else {
            throw EngineError.invalidArgument("predictClasses needs a classifier (output [classes]); this model's output is \(outputShape)")
        }
        return argmaxPerRow(try predict(input, batchSize: batchSize).scalars, rowLength: classes)
    }
}

/// The index of the largest value in each row of `rowLength` values, as NumPy's `argmax(axis=-1)`:
/// the first of equal ones, and the first NaN when a row has one.
func argmaxPerRow(_ values: [Float], rowLength: Int) -> [Int] {
    stride(from: 0, to: values.count, by: rowLength).map { start in
        var best = start
        for index in start..<(start + rowLength) {
            if values[index].isNaN { return index - start }
            if values[index] > values[best] { best = index }
        }
        return best - start
    }
}
