"""The course's reading list: every paper a lesson builds on, once, with the lessons that use it.

Each lesson ends with a "Papers and further reading" cell whose text is
``reading_markdown(lesson)``, and the README's reading list is ``reading_markdown()``;
``tests/test_references.py`` keeps both equal to this module, so a paper is added or
corrected here only (``python -m mobilecourse references --lesson NN`` prints the cell).
Nothing here points outside the repository: papers are cited by authors, title, venue,
year and arXiv identifier, which find them in any library.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobilecourse._validate import integer

__all__ = ["PAPERS", "Paper", "papers_for", "reading_markdown"]

#: The lessons, numbered as the notebooks are (``NN_name.ipynb``).
LESSON_NUMBERS = tuple(f"{n:02d}" for n in range(10))


@dataclass(frozen=True)
class Paper:
    """One reference.

    Attributes:
        authors: as the paper lists them ("et al." after three).
        year: of the venue (or of the preprint when there is no venue).
        title: the paper's title.
        venue: conference, journal, workshop or publisher; "arXiv preprint" if none.
        arxiv: the arXiv identifier, or "" for work not on arXiv.
        lessons: the lessons that use it, e.g. ``("02", "03")``.
        read_for: what to read it for, in a few words.
    """

    authors: str
    year: int
    title: str
    venue: str
    arxiv: str
    lessons: tuple[str, ...]
    read_for: str

    def markdown(self) -> str:
        """The reference as one Markdown line (no link: the identifier is enough)."""
        where = [] if self.venue == "arXiv preprint" else [f"{self.venue}."]
        where += [f"arXiv:{self.arxiv}."] if self.arxiv else []
        return (
            f"{self.authors} ({self.year}). *{self.title}*. {' '.join(where)} "
            f"Read for: {self.read_for}."
        )


PAPERS: tuple[Paper, ...] = (
    Paper(
        "D. A. Huffman",
        1952,
        "A Method for the Construction of Minimum-Redundancy Codes",
        "Proceedings of the IRE",
        "",
        ("07",),
        "the optimal prefix code Deep Compression's last stage uses",
    ),
    Paper(
        "J. Nielsen",
        1993,
        "Usability Engineering",
        "Academic Press (chapter 5)",
        "",
        ("00",),
        "the 0.1 s / 1 s / 10 s response-time limits",
    ),
    Paper(
        "Y. Taigman, M. Yang, M. Ranzato, L. Wolf",
        2014,
        "DeepFace: Closing the Gap to Human-Level Performance in Face Verification",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "",
        ("03",),
        "the face-verification network before FaceNet",
    ),
    Paper(
        "S. Gupta, A. Agrawal, K. Gopalakrishnan, P. Narayanan",
        2015,
        "Deep Learning with Limited Numerical Precision",
        "International Conference on Machine Learning (ICML)",
        "1502.02551",
        ("07",),
        "stochastic rounding for low-precision training",
    ),
    Paper(
        "S. Ren, K. He, R. Girshick, J. Sun",
        2015,
        "Faster R-CNN: Towards Real-Time Object Detection with Region Proposal Networks",
        "Advances in Neural Information Processing Systems (NeurIPS)",
        "1506.01497",
        ("04",),
        "the detector behind ShuffleNet's COCO table",
    ),
    Paper(
        "S. Zagoruyko, N. Komodakis",
        2016,
        "Wide Residual Networks",
        "British Machine Vision Conference (BMVC)",
        "1605.07146",
        ("03",),
        "wider and shallower residual networks: parameters vs compute",
    ),
    Paper(
        "P. Gysel, M. Motamedi, S. Ghiasi",
        2016,
        "Hardware-oriented Approximation of Convolutional Neural Networks",
        "ICLR Workshop",
        "1604.03168",
        ("07",),
        "Ristretto: fixed-point approximation of trained networks",
    ),
    Paper(
        "A. Gholami, K. Kwon, B. Wu, et al.",
        2018,
        "SqueezeNext: Hardware-Aware Neural Network Design",
        "IEEE CVPR Workshops",
        "1803.10615",
        ("03",),
        "SqueezeNet's successor: 1×1 and separable 3×1 / 1×3 filters",
    ),
    Paper(
        "M. Horowitz",
        2014,
        "Computing's energy problem (and what we can do about it)",
        "IEEE International Solid-State Circuits Conference (ISSCC)",
        "",
        ("00",),
        "the energy of arithmetic and memory access at 45 nm",
    ),
    Paper(
        "A. Canziani, A. Paszke, E. Culurciello",
        2016,
        "An Analysis of Deep Neural Network Models for Practical Applications",
        "arXiv preprint",
        "1605.07678",
        ("00",),
        "accuracy, operations, memory and power of ImageNet networks measured together",
    ),
    Paper(
        "S. Han, J. Pool, J. Tran, W. J. Dally",
        2015,
        "Learning both Weights and Connections for Efficient Neural Networks",
        "Advances in Neural Information Processing Systems (NeurIPS)",
        "1506.02626",
        ("00", "06"),
        "magnitude pruning with retraining; the energy table",
    ),
    Paper(
        "S. Han, H. Mao, W. J. Dally",
        2016,
        "Deep Compression: Compressing Deep Neural Networks with Pruning, Trained Quantization "
        "and Huffman Coding",
        "International Conference on Learning Representations (ICLR)",
        "1510.00149",
        ("00", "03", "07"),
        "the three-stage pipeline and its storage accounting",
    ),
    Paper(
        "S. Han, X. Liu, H. Mao, et al.",
        2016,
        "EIE: Efficient Inference Engine on Compressed Deep Neural Network",
        "International Symposium on Computer Architecture (ISCA)",
        "1602.01528",
        ("07",),
        "running a pruned, weight-shared network with 4-bit relative indices",
    ),
    Paper(
        "K. Simonyan, A. Zisserman",
        2015,
        "Very Deep Convolutional Networks for Large-Scale Image Recognition",
        "International Conference on Learning Representations (ICLR)",
        "1409.1556",
        ("01", "02", "03", "04"),
        "stacks of 3×3 filters instead of large ones (VGG)",
    ),
    Paper(
        "C. Szegedy, V. Vanhoucke, S. Ioffe, et al.",
        2016,
        "Rethinking the Inception Architecture for Computer Vision",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1512.00567",
        ("01", "02", "03"),
        "factorizing convolutions into smaller and asymmetric (1×N, N×1) ones",
    ),
    Paper(
        "A. G. Howard, M. Zhu, B. Chen, et al.",
        2017,
        "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
        "arXiv preprint",
        "1704.04861",
        ("00", "02", "03"),
        "depthwise separable convolutions, width and resolution multipliers",
    ),
    Paper(
        "F. Chollet",
        2017,
        "Xception: Deep Learning with Depthwise Separable Convolutions",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1610.02357",
        ("02", "04"),
        "decoupling spatial and cross-channel correlations",
    ),
    Paper(
        "A. Khosla, N. Jayadevaprakash, B. Yao, L. Fei-Fei",
        2011,
        "Novel Dataset for Fine-Grained Image Categorization: Stanford Dogs",
        "CVPR Workshop on Fine-Grained Visual Categorization (FGVC)",
        "",
        ("02",),
        "the fine-grained dataset of MobileNet's Table 10",
    ),
    Paper(
        "A. Krizhevsky, I. Sutskever, G. E. Hinton",
        2012,
        "ImageNet Classification with Deep Convolutional Neural Networks",
        "Advances in Neural Information Processing Systems (NeurIPS)",
        "",
        ("03", "04"),
        "AlexNet, the baseline SqueezeNet is measured against",
    ),
    Paper(
        "F. N. Iandola, S. Han, M. W. Moskewicz, et al.",
        2016,
        "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
        "arXiv preprint",
        "1602.07360",
        ("03", "04", "07"),
        "fire modules, the design space, and compression on top",
    ),
    Paper(
        "M. D. Zeiler, R. Fergus",
        2014,
        "Visualizing and Understanding Convolutional Networks",
        "European Conference on Computer Vision (ECCV)",
        "1311.2901",
        ("03",),
        "the network behind FaceNet's NN1",
    ),
    Paper(
        "F. Schroff, D. Kalenichenko, J. Philbin",
        2015,
        "FaceNet: A Unified Embedding for Face Recognition and Clustering",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1503.03832",
        ("03",),
        "NN1 vs NN2: the same compute with 19× fewer parameters",
    ),
    Paper(
        "C. Szegedy, W. Liu, Y. Jia, et al.",
        2015,
        "Going Deeper with Convolutions",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1409.4842",
        ("02", "03", "04"),
        "GoogLeNet's Inception module and its 1×1 reductions",
    ),
    Paper(
        "C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi",
        2017,
        "Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
        "AAAI Conference on Artificial Intelligence",
        "1602.07261",
        ("03",),
        "the largest networks of the Netscope table",
    ),
    Paper(
        "G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger",
        2017,
        "Densely Connected Convolutional Networks",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1608.06993",
        ("03",),
        "dense connectivity: few parameters, many activations",
    ),
    Paper(
        "H. Lee, R. Grosse, R. Ranganath, A. Y. Ng",
        2011,
        "Unsupervised Learning of Hierarchical Representations with Convolutional Deep Belief"
        " Networks",
        "Communications of the ACM",
        "",
        ("01",),
        "what deeper layers see: edges, then parts, then objects",
    ),
    Paper(
        "J. Huang, V. Rathod, C. Sun, et al.",
        2017,
        "Speed/Accuracy Trade-offs for Modern Convolutional Object Detectors",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1611.10012",
        ("05", "09"),
        "which detector and backbone to pick for a latency budget",
    ),
    Paper(
        "S. Williams, A. Waterman, D. Patterson",
        2009,
        "Roofline: An Insightful Visual Performance Model for Multicore Architectures",
        "Communications of the ACM",
        "",
        ("04",),
        "the roofline: attainable throughput from arithmetic intensity",
    ),
    Paper(
        "B. Wu, X. Dai, P. Zhang, et al.",
        2019,
        "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural Architecture"
        " Search",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1812.03443",
        ("08",),
        "a per-layer latency lookup table measured on the target device",
    ),
    Paper(
        "E. Real, A. Aggarwal, Y. Huang, Q. V. Le",
        2019,
        "Regularized Evolution for Image Classifier Architecture Search",
        "AAAI Conference on Artificial Intelligence",
        "1802.01548",
        ("08",),
        "aging evolution, the simple search loop",
    ),
    Paper(
        "K. He, X. Zhang, S. Ren, J. Sun",
        2016,
        "Deep Residual Learning for Image Recognition",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1512.03385",
        ("00", "03", "04", "05"),
        "residual connections, the bottleneck unit, depth against error on CIFAR-10",
    ),
    Paper(
        "S. Xie, R. Girshick, P. Dollár, Z. Tu, K. He",
        2017,
        "Aggregated Residual Transformations for Deep Neural Networks",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1611.05431",
        ("04",),
        "ResNeXt: group convolutions inside the residual unit",
    ),
    Paper(
        "X. Zhang, X. Zhou, M. Lin, J. Sun",
        2018,
        "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1707.01083",
        ("04",),
        "pointwise group convolutions and the channel shuffle",
    ),
    Paper(
        "J. Hu, L. Shen, G. Sun",
        2018,
        "Squeeze-and-Excitation Networks",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1709.01507",
        ("04",),
        "channel attention, the SE rows of ShuffleNet's Table 5",
    ),
    Paper(
        "N. Ma, X. Zhang, H.-T. Zheng, J. Sun",
        2018,
        "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
        "European Conference on Computer Vision (ECCV)",
        "1807.11164",
        ("04",),
        "why MACs are not latency: memory access cost",
    ),
    Paper(
        "A. S. Razavian, H. Azizpour, J. Sullivan, S. Carlsson",
        2014,
        "CNN Features off-the-shelf: an Astounding Baseline for Recognition",
        "IEEE Conference on Computer Vision and Pattern Recognition Workshops (CVPRW)",
        "1403.6382",
        ("09",),
        "a linear classifier on a pretrained network's features as a strong baseline",
    ),
    Paper(
        "J. Yosinski, J. Clune, Y. Bengio, H. Lipson",
        2014,
        "How transferable are features in deep neural networks?",
        "Advances in Neural Information Processing Systems (NIPS)",
        "1411.1792",
        ("09",),
        "which layers transfer to new classes, and why fine-tuning them helps",
    ),
    Paper(
        "W. Liu, D. Anguelov, D. Erhan, et al.",
        2016,
        "SSD: Single Shot MultiBox Detector",
        "European Conference on Computer Vision (ECCV)",
        "1512.02325",
        ("09",),
        "default boxes on several feature maps, the detector SSDLite slims down",
    ),
    Paper(
        "M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen",
        2018,
        "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1801.04381",
        ("00", "05", "09"),
        "linear bottlenecks, inverted residuals, memory-efficient inference",
    ),
    Paper(
        "M. Zhu, S. Gupta",
        2017,
        "To prune, or not to prune: exploring the efficacy of pruning for model compression",
        "arXiv preprint",
        "1710.01878",
        ("06",),
        "gradual pruning with the cubic sparsity schedule",
    ),
    Paper(
        "H. Li, A. Kadav, I. Durdanovic, H. Samet, H. P. Graf",
        2017,
        "Pruning Filters for Efficient ConvNets",
        "International Conference on Learning Representations (ICLR)",
        "1608.08710",
        ("06",),
        "structured pruning of whole filters by their L1 norm",
    ),
    Paper(
        "J.-H. Luo, J. Wu, W. Lin",
        2017,
        "ThiNet: A Filter Level Pruning Method for Deep Neural Network Compression",
        "IEEE International Conference on Computer Vision (ICCV)",
        "1707.06342",
        ("06",),
        "choosing filters to prune from the next layer's statistics",
    ),
    Paper(
        "B. Jacob, S. Kligys, B. Chen, et al.",
        2018,
        "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only "
        "Inference",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1712.05877",
        ("07", "09"),
        "the affine int8 scheme TFLite runs; BatchNorm folded into the convolution (Section 3.2)",
    ),
    Paper(
        "M. Rastegari, V. Ordonez, J. Redmon, A. Farhadi",
        2016,
        "XNOR-Net: ImageNet Classification Using Binary Convolutional Neural Networks",
        "European Conference on Computer Vision (ECCV)",
        "1603.05279",
        ("07",),
        "binary weights (BWN) and XNOR-popcount convolutions",
    ),
    Paper(
        "W. Chen, J. T. Wilson, S. Tyree, K. Q. Weinberger, Y. Chen",
        2015,
        "Compressing Neural Networks with the Hashing Trick",
        "International Conference on Machine Learning (ICML)",
        "1504.04788",
        ("07",),
        "HashedNets: weights shared by a hash, with no stored index",
    ),
    Paper(
        "G. Hinton, O. Vinyals, J. Dean",
        2015,
        "Distilling the Knowledge in a Neural Network",
        "NIPS Deep Learning Workshop",
        "1503.02531",
        ("08",),
        "knowledge distillation with a temperature",
    ),
    Paper(
        "M. Tan, B. Chen, R. Pang, et al.",
        2019,
        "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
        "IEEE Conference on Computer Vision and Pattern Recognition (CVPR)",
        "1807.11626",
        ("08",),
        "searching with measured latency in the reward",
    ),
)


def _lesson(value: object) -> str:
    """A lesson number as ``"NN"`` (accepts ``3``, ``"3"`` or ``"03"``)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    number = integer(value, "lesson", minimum=0, maximum=len(LESSON_NUMBERS) - 1)
    return LESSON_NUMBERS[number]


def papers_for(lesson: object) -> list[Paper]:
    """The papers a lesson uses, oldest first (then by first author)."""
    number = _lesson(lesson)
    return sorted((p for p in PAPERS if number in p.lessons), key=lambda p: (p.year, p.authors))


def reading_markdown(lesson: object = None) -> str:
    """The reading list as Markdown: one lesson's cell, or the whole course (by lesson).

    Args:
        lesson: a lesson number (``3``, ``"03"``), or ``None`` for the course's list.

    Returns:
        For a lesson, the text of its "Papers and further reading" cell; for the course,
        one "Lesson NN" list per lesson, each paper under the first lesson that uses it.
    """
    if lesson is not None:
        lines = ["## Papers and further reading", ""]
        lines += [f"- {p.markdown()}" for p in papers_for(lesson)]
        return "\n".join(lines)
    lines = []
    seen: set[Paper] = set()
    for number in LESSON_NUMBERS:
        new = [p for p in papers_for(number) if p not in seen]
        again = [p for p in papers_for(number) if p in seen]
        seen.update(new)
        lines += ["", f"**Lesson {number}**", ""]
        lines += [f"- {p.markdown()}" for p in new]
        if again:
            names = "; ".join(f"{p.authors.split(',')[0]} ({p.year})" for p in again)
            lines.append(f"- and, from earlier lessons: {names}")
    return "\n".join(lines).strip()
