import DenseNetEngine

/// The Keras Applications DenseNet a weight file holds, told from its names and shapes alone:
/// the block counts from the conv blocks (`conv2_block6_2_conv` … `conv5_block16_2_conv`; any four
/// counts, DenseNet-121/169/201 by name), the input channels from the stem kernel (`conv1_conv`,
/// H × W × channels × 64), the classes and whether the top is there from `predictions`
/// (features × classes). Reads tf-keras names (`conv1/conv`), Keras 3's (`conv1_conv`, the vars
/// groups' `name`) and torchvision's (`features.denseblock1.denselayer6.conv2`, mapped by
/// `kerasDenseNetLayer(forTorchvisionModule:)` when the listing is read).
public struct RecognizedDenseNet: Equatable, Sendable {
    /// Conv blocks in each of the four dense blocks.
    public let blocks: [Int]
    /// The input's channels: the stem kernel's third dimension.
    public let inputChannels: Int
    /// The classes of `predictions`; nil without the top.
    public let classes: Int?

    /// Whether the file holds the classifier (`predictions`).
    public var includeTop: Bool { classes != nil }

    /// `densenet121`, `densenet169` or `densenet201` for their blocks; nil for other counts.
    public var presetName: String? {
        let name = DenseNetApplication.kerasName(blocks: blocks)
        return name == "densenet" ? nil : name
    }

    /// "DenseNet-121 (blocks 6, 12, 24, 16), 3 input channels, 1000 classes".
    public var summary: String {
        let title = presetName.map { "DenseNet-\($0.dropFirst("densenet".count))" } ?? "a DenseNet"
        let top = classes.map { "\($0) classes (with the top)" } ?? "no top"
        return "\(title) (blocks \(blocks.map(String.init).joined(separator: ", "))), \(inputChannels) input channel"
            + "\(inputChannels == 1 ? "" : "s"), \(top)"
    }

    /// The command-line flags that build this model (`--model densenet121 --classes 10 …`); nil for
    /// block counts no preset has (leaving out `--model` builds them).
    public var flags: String? {
        guard let presetName else { return nil }
        var flags = "--model \(presetName)"
        if inputChannels != 3 { flags += " --input-shape 224,224,\(inputChannels)" }
        if let classes, classes != 1000 { flags += " --classes \(classes)" }
        if classes == nil { flags += " --no-include-top" }
        return flags
    }

    /// A DenseNet with these block counts, input channels and classes (nil: no top).
    public init(blocks: [Int], inputChannels: Int, classes: Int?) {
        self.blocks = blocks
        self.inputChannels = inputChannels
        self.classes = classes
    }

    /// The DenseNet `listing` holds, or nil when its names and shapes are not a Keras Applications
    /// DenseNet's (every block from 1 to its count present, the stem kernel 4-D with 64 filters).
    public init?(_ listing: WeightListing) {
        var units: [Int: Set<Int>] = [:]
        var inputChannels: Int?, classes: Int?
        for weight in listing.weights where weight.kind != .optimizer && weight.index == 0 {
            let layer = weight.layer.replacingOccurrences(of: "/", with: "_")
            let shape = weight.kerasShape
            if layer == "conv1_conv", shape.count == 4, shape[3] == 64 {
                inputChannels = shape[2]
            } else if layer == "predictions", shape.count == 2 {
                classes = shape[1]
            } else if let match = layer.wholeMatch(of: /conv([2-5])_block(\d+)_2_conv/), let block = Int(match.1), let unit = Int(match.2) {
                units[block, default: []].insert(unit)
            }
        }
        let blocks = (2...5).map { units[$0] ?? [] }
        guard let inputChannels, blocks.allSatisfy({ !$0.isEmpty && $0 == Set(1...$0.count) }) else { return nil }
        self.init(blocks: blocks.map(\.count), inputChannels: inputChannels, classes: classes)
    }

    /// The model: Keras Applications' `DenseNet(blocks, include_top, input_shape, classes, pooling)`;
    /// `inputShape` defaults to 224 × 224 × the file's channels (the weights fit any size from 32).
    public func build(inputShape: [Int]? = nil, pooling: DenseNetPooling? = nil, seed: UInt64 = 0) throws -> Model {
        let shape = inputShape ?? [224, 224, inputChannels]
        let options = DenseNetOptions(
            blocks: blocks, includeTop: includeTop, inputShape: shape, classes: classes ?? 1000, pooling: pooling)
        return try Model(root: DenseNetApplication.build(options), inputShape: shape, seed: seed)
    }
}
