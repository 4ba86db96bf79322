import TestSupport
import Testing

@testable import DenseNetEngine

/// `predict` on shaped tensors and `predictClasses`, against the flat `predict` they wrap.
@Suite struct PredictionTests {
    @Test func shapedPredictionEqualsTheFlatOne() throws {
        let model = try makeMiniModel()
        let pixels = randomFloats(5 * 784, seed: 7, range: 0...1)
        let output = try model.predict(Tensor(shape: [5, 28, 28, 1], scalars: pixels), batchSize: 2)
        #expect(output.shape == [5, 10])
        #expect(output.scalars == (try model.predict(pixels)))
        #expect(try model.predict(Tensor(zeros: [0, 28, 28, 1])).shape == [0, 10])
    }

    @Test func classesAreTheArgmaxOfEachRow() throws {
        let model = try makeMiniModel()
        let input = try Tensor(shape: [6, 28, 28, 1], scalars: randomFloats(6 * 784, seed: 3, range: 0...1))
        let outputs = try model.predict(input).scalars
        let expected = (0..<6).map { row in (0..<10).max { outputs[row * 10 + $0] < outputs[row * 10 + $1] }! }
        #expect(try model.predictClasses(input) == expected)
        #expect(argmaxPerRow([1, 3, 3, 0, 2, .nan, 5, .nan], rowLength: 4) == [1, 1])
        #expect(argmaxPerRow([-1, -1], rowLength: 2) == [0])
    }

    @Test func wrongShapesAndNonClassifiersAreErrors() throws {
        let model = try makeMiniModel()
        #expect(throws: EngineError.shapeMismatch(what: "predict's input (N × [28, 28, 1])", expected: [-1, 28, 28, 1], got: [28, 28, 1])) {
            try model.predict(Tensor(zeros: [28, 28, 1]))
        }
        #expect(throws: EngineError.self) { try model.predictClasses(Tensor(zeros: [1, 28, 28, 3])) }
        let features = try ModelPreset.named("densenet121").build(inputShape: [32, 32, 3], includeTop: false)
        #expect(throws: EngineError.self) { try features.predictClasses(Tensor(zeros: [1, 32, 32, 3])) }
    }

    @Test func labeledImagesGiveTheirTensorAndPrefix() throws {
        let data = try LabeledImages(images: (0..<12).map(Float.init), labels: [0, 1, 2], sampleShape: [2, 2, 1])
        #expect(data.shape == [3, 2, 2, 1])
        #expect(Array(data.image(at: 1)) == [4, 5, 6, 7])
        #expect(try data.imageTensor() == Tensor(shape: [3, 2, 2, 1], scalars: data.images))
        #expect(data.prefix(2) == (try LabeledImages(images: (0..<8).map(Float.init), labels: [0, 1], sampleShape: [2, 2, 1])))
        #expect(data.prefix(9) == data)
    }
}
