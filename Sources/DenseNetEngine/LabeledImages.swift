/// Images with one class label each: the data `Trainer` trains and evaluates on, and what
/// `Datasets` loads from MNIST-format files.
///
/// The images are float32 pixels already scaled as the model expects (0…1 for MNIST), flat in NHWC
/// order: `count` samples of `sampleShape` (height, width, channels), sample-major, channels last.
public struct LabeledImages: Equatable, Sendable {
    /// `count × product(sampleShape)` pixels, sample after sample.
    public var images: [Float]
    /// One class index per image (0…9 for MNIST and Fashion-MNIST).
    public var labels: [Int]
    /// The shape of one image, e.g. `[28, 28, 1]`.
    public var sampleShape: [Int]

    /// - Throws: `EngineError.countMismatch` unless `images` holds exactly one `sampleShape` image per label.
    public init(images: [Float], labels: [Int], sampleShape: [Int]) throws {
        guard images.count == labels.count * product(sampleShape) else {
            throw EngineError.countMismatch(what: "dataset images", expected: labels.count * product(sampleShape), got: images.count)
        }
        self.images = images
        self.labels = labels
        self.sampleShape = sampleShape
    }

    /// The number of images.
    public var count: Int { labels.count }

    /// `[count] + sampleShape`, e.g. `[60000, 28, 28, 1]`.
    public var shape: [Int] { [count] + sampleShape }

    /// Values per image: `product(sampleShape)`.
    public var sampleSize: Int { product(sampleShape) }

    /// The pixels of image `index` (0 ≤ index < count).
    public func image(at index: Int) -> ArraySlice<Float> {
        images[(index * sampleSize)..<((index + 1) * sampleSize)]
    }

    /// The first `n` images and their labels (all of them when `n >= count`).
    public func prefix(_ n: Int) -> LabeledImages {
        var first = self
        let kept = max(0, min(n, count))
        first.images = Array(images[0..<(kept * sampleSize)])
        first.labels = Array(labels[0..<kept])
        return first
    }

    /// The images as one tensor of shape ``shape``, the input `Model.predict(_:batchSize:)` takes.
    /// - Throws: `EngineError.countMismatch` when `images` was changed to another size than `shape` says.
    public func imageTensor() throws -> Tensor { try Tensor(shape: shape, scalars: images) }
}
