"""Interactive cost calculators for lectures and lessons (ipywidgets 7 or 8).

Each widget is a thin view over a plain function that does the calculation:

* :func:`conv_cost_explorer` over :func:`conv_costs`,
* :func:`mobilenet_explorer` over :func:`mobilenet_costs`,
* :func:`fire_explorer` over :func:`squeezenet_size`,
* :func:`shufflenet_explorer` over :func:`shufflenet_costs` and :func:`shufflenet_unit_costs`,
* :func:`mobilenet_v2_explorer` over :func:`mobilenet_v2_costs` and :func:`mobilenet_costs`,
* :func:`roofline_explorer` over :func:`roofline_costs`,
* :func:`compression_explorer` over :func:`compression_sizes`,
* :func:`network_designer` over :func:`mobilecourse.design.design_costs` and
  :func:`mobilecourse.design.build`.

The functions are unit-tested; the widgets only format their results. A widget never
raises on a slider value: an impossible setting (e.g. groups that do not divide the
channels) is shown as a message in the results. Every widget has ``controls`` (a dict
of its input widgets by name) and ``result`` (the HTML widget with the numbers); the
network designer adds a row of controls per row of the design (``row_controls``).
"""

from __future__ import annotations

import functools
import html
import math

import ipywidgets as w

from mobilecourse import costs, deploy, design
from mobilecourse._validate import choice, integer, positive_number
from mobilecourse.units import format_bytes

__all__ = [
    "COMPRESSION_DENSITIES",
    "SHUFFLENET_SCALES",
    "compression_explorer",
    "compression_sizes",
    "conv_cost_explorer",
    "conv_costs",
    "fire_explorer",
    "mobilenet_costs",
    "mobilenet_explorer",
    "mobilenet_v2_costs",
    "mobilenet_v2_explorer",
    "network_designer",
    "roofline_costs",
    "roofline_explorer",
    "shufflenet_costs",
    "shufflenet_explorer",
    "shufflenet_unit_costs",
    "squeezenet_size",
]


class Explorer(w.VBox):
    """A calculator: a column of controls above a results panel."""

    def __init__(self, title: str, controls: dict, update, **kwargs):
        self.title = title
        self.controls = controls
        self.result = w.HTML()
        self._update = update
        for control in controls.values():
            control.observe(self._refresh, names="value")
        super().__init__(
            [w.HTML(f"<b>{html.escape(title)}</b>"), *controls.values(), self.result], **kwargs
        )
        self._refresh()

    def values(self) -> dict:
        """The controls' current values by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _refresh(self, change=None):
        self.result.value = self._update(**self.values())

    def __repr__(self) -> str:  # short and stable in a notebook's text output
        return f"<{self.title}: " + ", ".join(f"{k}={v}" for k, v in self.values().items()) + ">"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 10px'>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _bar(value: float, largest: float, color: str) -> str:
    width = 0 if largest <= 0 else max(1, round(240 * value / largest))
    return f"<div style='background:{color};height:12px;width:{width}px'></div>"


def _slider(cls, value, lo, hi, step, description):
    """A labelled slider that updates when released (so a drag does not rebuild models)."""
    return cls(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        style={"description_width": "150px"},
        layout=w.Layout(width="480px"),
        continuous_update=False,
    )


def _dropdown(options, value, description):
    """A labelled dropdown, laid out like :func:`_slider`."""
    return w.Dropdown(
        options=options,
        value=value,
        description=description,
        style={"description_width": "150px"},
        layout=w.Layout(width="480px"),
    )


#: The groups the explorers offer (ShuffleNet's Table 1: g = 1, 2, 3, 4, 8).
_GROUP_CHOICES = (1, 2, 3, 4, 8)


# ---------------------------------------------------------------- convolution


def conv_costs(
    kernel_size: int,
    in_channels: int,
    out_channels: int,
    size: int,
    strides: int = 1,
    groups: int = 1,
    width: float = 1.0,
    rho: float = 1.0,
) -> dict:
    """MACs and parameters of a standard, a depthwise separable and a group convolution.

    The width multiplier scales the channels (``int(width * M)``, at least 1) and the
    resolution multiplier the feature map (``round(rho * size)``, at least 1), as in
    MobileNet (Howard et al. 2017, Section 3.3-3.4). "same" padding, no bias (the paper's
    counting).

    Cost:
        standard Dk^2*M*N*Dout^2, separable Dk^2*M*Dout^2 + M*N*Dout^2, group
        Dk^2*(M/g)*N*Dout^2 MACs.

    Returns:
        ``{"channels": (M, N), "size": D, "standard": LayerCost, "separable": LayerCost,
        "group": LayerCost or None, "group_error": str or None,
        "separable_ratio": float, "group_ratio": float or None}``.

    Raises:
        ValueError: a non-positive size, channel count, kernel, stride or multiplier.
    """
    for name, value in (("width", width), ("rho", rho)):
        positive_number(value, name)
    m = max(1, int(width * in_channels))
    n = max(1, int(width * out_channels))
    d = max(1, round(rho * size))
    shape = (d, d, m)
    standard = costs.conv2d(shape, n, kernel_size, strides, use_bias=False)
    separable = costs.separable_conv2d(shape, n, kernel_size, strides, use_bias=False)
    try:
        group = costs.conv2d(shape, n, kernel_size, strides, groups=groups, use_bias=False)
        group_error = None
    except ValueError as err:
        group, group_error = None, str(err)
    return {
        "channels": (m, n),
        "size": d,
        "standard": standard,
        "separable": separable,
        "group": group,
        "group_error": group_error,
        "separable_ratio": separable.macs / standard.macs,
        "group_ratio": None if group is None else group.macs / standard.macs,
    }


def _conv_view(**values) -> str:
    r = conv_costs(**values)
    m, n = r["channels"]
    k = values["kernel_size"]
    rows = []
    largest = r["standard"].macs
    for label, cost, color in (
        ("standard", r["standard"], "#4c72b0"),
        ("depthwise separable", r["separable"], "#55a868"),
        (f"group (g={values['groups']})", r["group"], "#c44e52"),
    ):
        if cost is None:
            rows.append([label, html.escape(r["group_error"]), "", "", ""])
            continue
        rows.append(
            [
                label,
                f"{cost.macs:,}",
                f"{cost.params:,}",
                f"{cost.macs / largest:.4f}",
                _bar(cost.macs, largest, color),
            ]
        )
    theory = 1 / n + 1 / (k * k)
    header = (
        f"<p>input {r['size']}x{r['size']}x{m} &rarr; {n} channels, kernel {k}x{k}, "
        f"stride {values['strides']}</p>"
    )
    footer = (
        f"<p>separable / standard = {r['separable_ratio']:.4f} "
        f"(1/N + 1/Dk&sup2; = {theory:.4f}); MACs are multiply-accumulates, "
        "FLOPs = 2 x MACs.</p>"
    )
    return header + _table(["layer", "MACs", "params", "vs standard", ""], rows) + footer


def conv_cost_explorer(
    kernel_size: int = 3,
    in_channels: int = 512,
    out_channels: int = 512,
    size: int = 14,
    strides: int = 1,
    groups: int = 1,
    width: float = 1.0,
    rho: float = 1.0,
) -> Explorer:
    """Sliders for kernel, channels, feature map, stride, groups, width and rho.

    Shows MACs and parameters of a standard, depthwise separable and group convolution,
    their ratio to the standard one and a bar for each. The defaults are MobileNet's
    Table 3 example (14x14x512 -> 512, 3x3).
    """
    controls = {
        "kernel_size": _slider(w.IntSlider, kernel_size, 1, 7, 1, "kernel size Dk"),
        "in_channels": _slider(w.IntSlider, in_channels, 1, 1024, 1, "input channels M"),
        "out_channels": _slider(w.IntSlider, out_channels, 1, 1024, 1, "output channels N"),
        "size": _slider(w.IntSlider, size, 1, 224, 1, "feature map Df"),
        "strides": _slider(w.IntSlider, strides, 1, 2, 1, "stride"),
        "groups": _dropdown(_GROUP_CHOICES, groups, "groups g"),
        "width": _slider(w.FloatSlider, width, 0.25, 1.0, 0.05, "width multiplier α"),
        "rho": _slider(w.FloatSlider, rho, 0.25, 1.0, 0.05, "resolution multiplier ρ"),
    }
    return Explorer("convolution cost explorer", controls, _conv_view)


# ---------------------------------------------------------------- MobileNet


@functools.lru_cache(maxsize=64)
def mobilenet_costs(width: float = 1.0, input_size: int = 224) -> tuple[int, int]:
    """MACs and kernel weights of MobileNet v1 at ``width`` (α) and ``input_size``.

    Builds ``models.mobilenet_v1`` (1000 classes) and profiles it; results are cached.

    Cost:
        1.0 MobileNet-224: 568,740,352 MACs, 4,209,088 kernel weights (Howard et al.
        2017, Table 6: 569M, 4.2M).

    Returns:
        ``(macs, weights)``: the paper's two columns (weights = kernel weights only).
    """
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from mobilecourse.models import mobilenet_v1
    from mobilecourse.profile import profile_model

    keras.utils.clear_session()
    profile = profile_model(mobilenet_v1(width=width, input_shape=(input_size, input_size, 3)))
    return profile.macs, profile.weights


def _svg(draw, figsize: tuple[float, float]) -> str:
    """An inline SVG of ``draw(ax)`` on a new figure (not pyplot: the notebook's backend is
    left alone), the same bytes for the same drawing."""
    import io

    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "mobilecourse", "svg.fonttype": "none"}):
        fig = Figure(figsize=figsize)
        draw(fig.subplots())
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()[buffer.getvalue().index("<svg") :]


def _mobilenet_plot(width: float, input_size: int, macs: int) -> str:
    from mobilecourse.data import paper_table

    paper = paper_table("mobilenet_v1")
    paper = paper[paper["model"] != "Conv MobileNet-224"]

    def draw(ax):
        ax.scatter(paper["mult_adds_millions"], paper["top1_percent"], label="paper (Tables 6, 7)")
        ax.axvline(macs / 1e6, color="tab:red", label=f"ours: α={width:g}, {input_size}px")
        ax.set_xscale("log")
        ax.set_xlabel("mult-adds (MACs), millions")
        ax.set_ylabel("ImageNet top-1 (%)")
        ax.legend(loc="lower right", fontsize=8)

    return _svg(draw, (5, 3))


def _mobilenet_view(width: float, input_size: int) -> str:
    macs, weights = mobilenet_costs(width, input_size)
    base_macs, base_weights = mobilenet_costs(1.0, 224)
    rows = [
        ["this network", f"{macs:,}", f"{weights:,}", format_bytes(weights * 4)],
        [
            "1.0 MobileNet-224",
            f"{base_macs:,}",
            f"{base_weights:,}",
            format_bytes(base_weights * 4),
        ],
    ]
    ratio = (
        f"<p>MACs x{macs / base_macs:.3f} (≈ α²ρ² = {width**2 * (input_size / 224) ** 2:.3f}), "
        f"weights x{weights / base_weights:.3f} (≈ α² = {width**2:.3f})</p>"
    )
    table = _table(["network", "MACs", "kernel weights", "fp32 weights"], rows)
    return table + ratio + _mobilenet_plot(width, input_size, macs)


def mobilenet_explorer(width: float = 1.0, input_size: int = 224) -> Explorer:
    """Width multiplier and input size -> MACs and weights of the built MobileNet v1.

    The numbers come from profiling the real Keras model; the plot puts them beside the
    paper's accuracy-vs-MACs points.
    """
    controls = {
        "width": _slider(w.FloatSlider, width, 0.25, 1.0, 0.25, "width multiplier α"),
        "input_size": _slider(w.IntSlider, input_size, 96, 224, 32, "input size"),
    }
    return Explorer("MobileNet v1 explorer", controls, _mobilenet_view)


# ---------------------------------------------------------------- SqueezeNet


def squeezenet_size(squeeze_ratio: float = 0.125, pct3x3: float = 0.5, classes: int = 1000) -> dict:
    """Parameters and fp32 size of a SqueezeNet from the paper's design space.

    Uses ``models.squeezenet_design`` for the fire modules and the ``costs`` formulas
    (weights + bias, as the paper counts), without building a model.

    Cost:
        SR = 0.125, pct3x3 = 0.5: 1,248,424 parameters, 4.76 MiB at 32 bits
        (Iandola et al. 2016, Table 1; the paper's "4.8MB").

    Returns:
        ``{"params": int, "bytes": int, "fires": tuple of FireRow}``.
    """
    from mobilecourse.models import squeezenet_design

    fires = squeezenet_design(squeeze_ratio, pct3x3)
    params = costs.conv2d((227, 227, 3), 96, 7, 2, "valid").params
    channels = 96
    for row in fires:
        params += costs.conv2d((1, 1, channels), row.squeeze, 1).params
        for filters, k in ((row.expand1x1, 1), (row.expand3x3, 3)):
            if filters:
                params += costs.conv2d((3, 3, row.squeeze), filters, k).params
        channels = row.expand1x1 + row.expand3x3
    params += costs.conv2d((1, 1, channels), classes, 1).params
    return {"params": params, "bytes": costs.model_size_bytes(params, 32), "fires": fires}


def _fire_view(squeeze_ratio: float, pct3x3: float) -> str:
    r = squeezenet_size(squeeze_ratio, pct3x3)
    base = squeezenet_size()
    rows = [
        [row.name, str(row.squeeze), str(row.expand1x1), str(row.expand3x3)] for row in r["fires"]
    ]
    summary = (
        f"<p><b>{r['params']:,}</b> parameters = <b>{format_bytes(r['bytes'])}</b> at 32 bits "
        f"({r['bytes'] / base['bytes']:.2f} x SqueezeNet v1.0's {format_bytes(base['bytes'])}; "
        f"{format_bytes(costs.model_size_bytes(r['params'], 8))} at 8 bits)</p>"
    )
    return summary + _table(["module", "s1x1", "e1x1", "e3x3"], rows)


def fire_explorer(squeeze_ratio: float = 0.125, pct3x3: float = 0.5) -> Explorer:
    """Squeeze ratio and share of 3x3 filters -> SqueezeNet parameters and size (Section 5)."""
    controls = {
        "squeeze_ratio": _slider(
            w.FloatSlider, squeeze_ratio, 0.125, 1.0, 0.125, "squeeze ratio SR"
        ),
        "pct3x3": _slider(w.FloatSlider, pct3x3, 0.0, 1.0, 0.05, "share of 3x3 (pct3x3)"),
    }
    return Explorer("SqueezeNet design-space explorer", controls, _fire_view)


# ---------------------------------------------------------------- network designer


class _RowControls(w.HBox):
    """The controls of one design row, and a button that removes it."""

    KERNELS = (1, 2, 3, 5, 7)
    #: (heading, width) of each field's control, in DesignRow's order.
    COLUMNS = {
        "kind": ("kind", "120px"),
        "filters": ("filters", "90px"),
        "kernel_size": ("kernel", "70px"),
        "strides": ("stride", "70px"),
        "expansion": ("expansion t", "90px"),
        "groups": ("groups g", "90px"),
    }

    def __init__(self, row, on_change, on_remove):
        def layout(field):
            return w.Layout(width=self.COLUMNS[field][1])

        def box(field, hi):
            return w.BoundedIntText(value=getattr(row, field), min=1, max=hi, layout=layout(field))

        self.kind = w.Dropdown(options=design.KINDS, value=row.kind, layout=layout("kind"))
        self.filters = box("filters", 4096)
        self.kernel_size = w.Dropdown(
            options=self.KERNELS, value=row.kernel_size, layout=layout("kernel_size")
        )
        self.strides = w.Dropdown(
            options=design.STRIDES, value=row.strides, layout=layout("strides")
        )
        self.expansion = box("expansion", 16)
        self.groups = box("groups", 1024)
        self.remove = w.Button(
            description="✕", tooltip="remove this row", layout=w.Layout(width="40px")
        )
        for field in design.DesignRow._fields:
            getattr(self, field).observe(on_change, names="value")
        self.remove.on_click(lambda _: on_remove(self))
        fields = [getattr(self, f) for f in design.DesignRow._fields]
        super().__init__([*fields, self.remove])
        self.add_class("designer-row")

    @classmethod
    def header(cls) -> w.HBox:
        """The column headings, aligned with the controls."""
        return w.HBox(
            [w.Label(text, layout=w.Layout(width=px)) for text, px in cls.COLUMNS.values()]
        )

    def row(self) -> design.DesignRow:
        return design.DesignRow(*(getattr(self, f).value for f in design.DesignRow._fields))


def _budget_lines(net: design.Design, budget) -> list[list[str]]:
    def verdict(value: int, limit: int | None) -> str:
        return (
            "" if limit is None else ("✓ within " if value <= limit else "✗ over ") + f"{limit:,}"
        )

    rows = [
        ["MACs", f"{net.macs:,}", verdict(net.macs, budget.max_macs)],
        ["parameters (Keras)", f"{net.params:,}", verdict(net.params, budget.max_params)],
    ]
    if budget.max_file_bytes is not None:
        size = net.size_bytes(8)
        rows.append(
            [
                "numbers at 8 bits",
                format_bytes(size),
                ("✓ within " if size <= budget.max_file_bytes else "✗ over ")
                + f"the file's {format_bytes(budget.max_file_bytes)}, before the graph",
            ]
        )
    return rows


def _design_summary(net: design.Design, budget=None) -> str:
    """The totals, the budget's verdicts and the invalid rows."""
    sizes = ", ".join(f"{format_bytes(net.size_bytes(b))} at {b} bits" for b in (32, 16, 8))
    totals = [
        ["MACs", f"{net.macs:,}", f"{2 * net.macs:,} FLOPs"],
        ["parameters (Keras)", f"{net.params:,}", "BatchNorm's four per channel included"],
        ["stored numbers", f"{net.stored:,}", sizes],
        [
            "peak activation memory",
            format_bytes(net.peak_activation_bytes(32)),
            f"{format_bytes(net.peak_activation_bytes(8))} at 8 bits",
        ],
    ]
    parts = ["<p><b>Totals</b></p>", _table([], totals)]
    if budget is not None:
        parts += ["<p><b>Against the budget</b></p>", _table([], _budget_lines(net, budget))]
    if net.errors:
        parts.append(
            f"<p style='color:#b00'>⚠ {len(net.errors)} invalid row(s), left out of the totals: "
            + html.escape("; ".join(net.errors))
            + "</p>"
        )
    return "".join(parts)


def _design_details(net: design.Design) -> str:
    """Row by row: a table, the MACs as bars, and the rows as code."""
    rows = [
        [
            layer.label,
            "x".join(map(str, layer.output_shape)),
            f"{layer.macs:,}",
            f"{layer.params:,}",
            f"{layer.peak:,}",
            f"<span style='color:#b00'>⚠ {html.escape(layer.error)}</span>" if layer.error else "",
        ]
        for layer in net.layers
    ]
    valid = [(layer.label, layer.macs) for layer in net.layers if not layer.error]
    plot = _bars_svg(
        [label for label, _ in valid], [macs / 1e6 for _, macs in valid], "MACs per row, millions"
    )
    source = design.rows_source(net.rows, net.input_shape, net.classes)
    return (
        "<p><b>Row by row</b></p>"
        + _table(["row", "output", "MACs", "params", "peak values", ""], rows)
        + plot
        + f"<p>As code (for <code>design.build</code>):</p><pre>{html.escape(source)}</pre>"
    )


class NetworkDesigner(w.VBox):
    """The network designer: rows of layers, their costs live, a Keras export.

    Attributes:
        controls: the start dropdown and the input size, by name.
        row_controls: one :class:`_RowControls` per row, in order.
        result: the HTML with the totals, the budget's verdicts and the invalid rows.
        details: the HTML with the costs row by row, a bar chart and the rows as code.
        exported: the HTML that reports the last export.
        model: the last exported ``keras.Model`` (``None`` before the first export).
    """

    def __init__(self, start: str, budget=None):
        self.title = "Network designer"
        self.budget = budget
        self.model = None
        self._loading = False
        self.controls = {
            "start": _dropdown(list(design.STARTS), start, "start from"),
            "input_size": w.BoundedIntText(
                value=design.STARTS[start][0][0],
                min=8,
                max=512,
                description="input size",
                style={"description_width": "150px"},
            ),
        }
        self.row_controls: list[_RowControls] = []
        self.rows_box = w.VBox()
        self.add_button = w.Button(description="+ add row")
        self.export_button = w.Button(
            description="export to Keras and profile", layout=w.Layout(width="240px")
        )
        self.result = w.HTML()
        self.details = w.HTML()
        self.exported = w.HTML()
        self.controls["start"].observe(self._load, names="value")
        self.controls["input_size"].observe(self._refresh, names="value")
        self.add_button.on_click(lambda _: self.add_row())
        self.export_button.on_click(lambda _: self.export())
        super().__init__(
            [
                w.HTML(f"<b>{self.title}</b>"),
                *self.controls.values(),
                w.VBox([_RowControls.header(), self.rows_box]),
                w.HBox([self.add_button, self.export_button]),
                self.exported,
                self.result,
                w.VBox([self.details]),  # a lecture deck's snapshot shows the summary only
            ]
        )
        self._load()

    # the design ---------------------------------------------------------
    def input_shape(self) -> tuple[int, int, int]:
        """The design's input: the start's, at the chosen size."""
        shape, _, _ = design.STARTS[self.controls["start"].value]
        size = self.controls["input_size"].value
        return (size, size, shape[2])

    def rows(self) -> list[design.DesignRow]:
        """The rows as they are set now."""
        return [controls.row() for controls in self.row_controls]

    def design(self) -> design.Design:
        """The costs of the current rows (:func:`mobilecourse.design.design_costs`)."""
        classes = design.STARTS[self.controls["start"].value][1]
        return design.design_costs(self.rows(), self.input_shape(), classes)

    # editing -------------------------------------------------------------
    def add_row(self, row: design.DesignRow | None = None) -> None:
        """Append ``row``; by default a stride-1 copy of the last row."""
        if row is None:
            last = self.rows()[-1] if self.row_controls else design.DesignRow("separable", 32)
            row = last._replace(strides=1)
        self.row_controls.append(_RowControls(row, self._refresh, self.remove_row))
        self._show_rows()

    def remove_row(self, which) -> None:
        """Remove a row, given by its index or its controls."""
        index = which if isinstance(which, int) else self.row_controls.index(which)
        del self.row_controls[index]
        self._show_rows()

    def export(self):
        """Build the design with :func:`mobilecourse.design.build`, profile it, report both."""
        from mobilecourse.profile import profile_model

        net = self.design()
        if not net.rows or not net.valid:
            what = "Fix the invalid rows" if net.rows else "Add a row"
            self.exported.value = f"<p>⚠ {what} first.</p>"
            return None
        self.model = design.build(net.rows, net.input_shape, net.classes)
        profile = profile_model(self.model)
        same = (profile.macs, self.model.count_params()) == (net.macs, net.params)
        self.exported.value = (
            f"<p>Keras model <code>{self.model.name}</code>: {len(self.model.layers)} layers, "
            f"profiled {profile.macs:,} MACs and {self.model.count_params():,} parameters, "
            + ("the design's numbers ✓" if same else "⚠ not the design's numbers")
            + "</p>"
        )
        return self.model

    def _load(self, change=None):
        shape, _, rows = design.STARTS[self.controls["start"].value]
        self._loading = True
        self.controls["input_size"].value = shape[0]
        self.row_controls = [_RowControls(r, self._refresh, self.remove_row) for r in rows]
        self._loading = False
        self._show_rows()

    def _show_rows(self):
        self.rows_box.children = tuple(self.row_controls)
        self._refresh()

    def _refresh(self, change=None):
        if not self._loading:
            net = self.design()
            self.result.value = _design_summary(net, self.budget)
            self.details.value = _design_details(net)
            self.exported.value = ""

    def __repr__(self) -> str:
        return (
            f"<{self.title}: start={self.controls['start'].value}, rows={len(self.row_controls)}>"
        )


def network_designer(
    start: str = "digits_cnn 1.0x (lesson 08)", budget=deploy.CAPSTONE_BUDGET
) -> NetworkDesigner:
    """Build a network row by row, or from a course model, and watch its costs.

    Shows per-row and total MACs, parameters and peak activation memory, the stored numbers'
    size at 32, 16 and 8 bits, a warning for a row that cannot be built, and, given a
    ``budget``, each limit it meets or misses. "export" builds the Keras model with
    :func:`mobilecourse.design.build` and profiles it.

    Args:
        start: a name of :data:`mobilecourse.design.STARTS`.
        budget: a :class:`mobilecourse.deploy.Budget` to check against (by default lesson
            08's brief, ``deploy.CAPSTONE_BUDGET``), or ``None`` for none.

    Raises:
        ValueError: an unknown ``start``.
        TypeError: ``budget`` is not a Budget.
    """
    choice(start, "start", tuple(design.STARTS))
    if budget is not None and not isinstance(budget, deploy.Budget):
        raise TypeError(f"budget must be a deploy.Budget or None, got {type(budget).__name__}")
    return NetworkDesigner(start, budget)


# ---------------------------------------------------------------- ShuffleNet

#: ShuffleNet's scale factors s ("ShuffleNet s x", Zhang et al. 2017, Table 2).
SHUFFLENET_SCALES = (0.25, 0.5, 1.0, 1.5, 2.0)


def shufflenet_unit_costs(channels: int = 240, size: int = 28, groups: int = 3) -> dict:
    """MACs of one bottleneck unit of ResNet, ResNeXt and ShuffleNet (stride 1).

    Input ``size x size x channels``, bottleneck ``m = channels / 4`` (Zhang et al. 2017,
    Section 3.2). ResNeXt groups its 3x3 convolution; ShuffleNet groups both 1x1
    convolutions and makes the 3x3 depthwise.

    Cost:
        ResNet hw(2cm + 9m^2), ResNeXt hw(2cm + 9m^2/g), ShuffleNet hw(2cm/g + 9m) MACs
        (Zhang et al. 2017, Section 3.2).

    Returns:
        ``{"bottleneck": m, "ResNet": int, "ResNeXt": int, "ShuffleNet": int}``.

    Raises:
        TypeError: an argument is not an integer.
        ValueError: a non-positive argument, or ``channels`` not divisible by 4, or the
            bottleneck (and so the channels) not divisible by ``groups``.
    """
    c = integer(channels, "channels")
    hw = integer(size, "size") ** 2
    g = integer(groups, "groups")
    if c % 4:
        raise ValueError(f"channels must be divisible by 4 (the bottleneck is c/4), got {c}")
    m = c // 4
    if m % g:
        raise ValueError(
            f"groups must divide the bottleneck channels channels/4 = {m}; got groups={g}"
        )
    return {
        "bottleneck": m,
        "ResNet": hw * (2 * c * m + 9 * m * m),
        "ResNeXt": hw * (2 * c * m + 9 * m * m // g),
        "ShuffleNet": hw * (2 * c * m // g + 9 * m),
    }


@functools.lru_cache(maxsize=64)
def shufflenet_costs(groups: int = 3, width: float = 1.0) -> dict:
    """MACs and weights of the built ShuffleNet ``width`` x with ``groups`` at 224 px.

    Builds ``models.shufflenet`` (1000 classes) and profiles it; results are cached.

    Cost:
        1x: 143M, 140M, 137M, 133M, 137M MACs in the convolutions for g = 1, 2, 3, 4, 8
        (Zhang et al. 2017, Table 1, "complexity"; the classifier adds c x 1000).

    Returns:
        ``{"macs": int, "conv_macs": int, "weights": int, "stage_channels": tuple,
        "paper_macs": int or None}``: all MACs; those of the convolutions (the paper's
        complexity); kernel weights; the output channels of stages 2-4; the paper's Table 1
        complexity in MACs when ``width`` is 1, else ``None``.

    Raises:
        ValueError: ``groups`` not one of 1, 2, 3, 4, 8, or a non-positive ``width``.
    """
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from mobilecourse.data import paper_table
    from mobilecourse.models import shufflenet
    from mobilecourse.profile import profile_model

    keras.utils.clear_session()
    model = shufflenet(groups=groups, width=width)
    profile = profile_model(model)
    stages = tuple(
        next(r.output_shape[-1] for r in reversed(profile.rows) if r.name.startswith(f"stage{s}"))
        for s in (2, 3, 4)
    )
    paper = paper_table("shufflenet_table1").set_index("groups")["complexity_million_macs"]
    return {
        "macs": profile.macs,
        "conv_macs": sum(r.macs for r in profile.rows if r.type != "Dense"),
        "weights": profile.weights,
        "stage_channels": stages,
        "paper_macs": int(paper[groups]) * 10**6 if width == 1.0 else None,
    }


def _bars_svg(labels: list[str], values: list[float], xlabel: str) -> str:
    """A horizontal bar chart, the first label on top, as inline SVG."""

    def draw(ax):
        ax.barh(labels[::-1], values[::-1], color="#4c72b0")
        ax.set_xlabel(xlabel)

    return _svg(draw, (5, 0.6 + 0.3 * len(labels)))


def _shufflenet_view(groups: int, width: float) -> str:
    net = shufflenet_costs(groups, width)
    c2, c3, c4 = net["stage_channels"]
    paper = net["paper_macs"]
    against = (
        f"Table 1: {paper // 10**6}M, ours {100 * (net['conv_macs'] / paper - 1):+.1f} %"
        if paper
        else "Table 1 lists 1x only"
    )
    weights = f"{net['weights']:,} kernel weights, {format_bytes(net['weights'] * 4)} at 32 bits"
    rows = [
        ["convolutions (the paper's complexity)", f"{net['conv_macs']:,}", against],
        ["with the classifier", f"{net['macs']:,}", weights],
    ]
    head = f"<p>ShuffleNet {width:g}x, g = {groups}: stages of {c2}, {c3}, {c4} channels</p>"
    try:
        unit = shufflenet_unit_costs(c2, 28, groups)
    except ValueError as err:  # cannot happen for the network's own widths; shown if it does
        return head + _table(["", "MACs", ""], rows) + f"<p>{html.escape(str(err))}</p>"
    names = ["ResNet", "ResNeXt", "ShuffleNet"]
    where = f"28x28x{c2}, m = {unit['bottleneck']}"
    rows += [
        [f"one stage-2 unit ({where}): {name}", f"{unit[name]:,}",
         f"{unit[name] / unit['ResNet']:.3f} of ResNet's"]
        for name in names
    ]  # fmt: skip
    plot = _bars_svg(names, [unit[n] / 1e6 for n in names], "MACs of one unit, millions")
    return head + _table(["", "MACs", ""], rows) + plot


def shufflenet_explorer(groups: int = 3, width: float = 1.0) -> Explorer:
    """Groups g and scale factor s -> ShuffleNet's complexity against Table 1, and the cost
    of one unit against ResNet's and ResNeXt's (Zhang et al. 2017)."""
    controls = {
        "groups": _dropdown(_GROUP_CHOICES, groups, "groups g"),
        "width": _dropdown([(f"{s:g}x", s) for s in SHUFFLENET_SCALES], width, "scale factor s"),
    }
    return Explorer("ShuffleNet explorer", controls, _shufflenet_view)


# ---------------------------------------------------------------- MobileNetV2


@functools.lru_cache(maxsize=64)
def _network_costs(network: str, width: float, input_size: int, expansion: int = 6) -> dict:
    """MACs, weights + biases and peak 16-bit activation bytes of a built course network."""
    from mobilecourse import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from mobilecourse import models
    from mobilecourse.profile import profile_model

    shape = (input_size, input_size, 3)
    keras.utils.clear_session()
    if network == "MobileNetV2":
        blocks = tuple(
            row if row.expansion == 1 else row._replace(expansion=expansion)
            for row in models.MOBILENET_V2_BLOCKS
        )
        model = models.mobilenet_v2(width=width, input_shape=shape, blocks=blocks)
    elif network == "MobileNet v1":
        model = models.mobilenet_v1(width=width, input_shape=shape)
    else:  # ShuffleNet 2x, g = 3, the network of MobileNetV2's Table 3
        model = models.shufflenet(groups=3, width=2.0, input_shape=shape)
    profile = profile_model(model)
    return {
        "macs": profile.macs,
        "params": profile.weights + profile.bias,
        "peak_bytes": profile.peak_activation_bytes(bits=16),
    }


def mobilenet_v2_costs(expansion: int = 6, width: float = 1.0, input_size: int = 224) -> dict:
    """MACs, parameters and peak activation memory of MobileNetV2 with expansion factor
    ``expansion`` (t, every bottleneck but the first, whose t is 1), width ``width`` (α) and
    input ``input_size``.

    Builds ``models.mobilenet_v2`` (1000 classes) and profiles it; results are cached.

    Cost:
        t = 6, 1.0-224: 300,774,272 MACs, 3,470,760 weights and biases (Sandler et al. 2018,
        Table 4: 300M, 3.4M); peak activation memory 1,204,224 bytes at 16 bits, set by
        the first block, 112x112x32 -> 112x112x16 (Section 5.1's rule).

    Returns:
        ``{"macs": int, "params": int, "peak_bytes": int}``: MACs, weights + biases
        (BatchNorm left out, as the paper counts), and the peak activation memory in bytes
        at 16 bits (``Profile.peak_activation_bytes``).

    Raises:
        TypeError: ``expansion`` or ``input_size`` is not an integer.
        ValueError: a non-positive argument or an input too small.
    """
    t = integer(expansion, "expansion")
    size = integer(input_size, "input_size")
    width = positive_number(width, "width")
    return dict(_network_costs("MobileNetV2", width, size, t))


def _mobilenet_v2_view(expansion: int, width: float, input_size: int) -> str:
    from mobilecourse.data import paper_table

    ours = mobilenet_v2_costs(expansion, width, input_size)
    v1 = _network_costs("MobileNet v1", width, input_size)
    shuffle = _network_costs("ShuffleNet", 2.0, input_size)
    memory = paper_table("mobilenet_v2_memory").set_index("network")["max_memory_kb_16bit"]
    table4 = paper_table("mobilenet_v2_table4").set_index("network")
    networks = (
        (f"MobileNetV2 t={expansion}, α={width:g}", ours, "MobileNetV2", "MobileNetV2"),
        (f"MobileNet v1 α={width:g}", v1, "MobileNetV1", "MobileNetV1"),
        ("ShuffleNet 2x (g=3)", shuffle, "ShuffleNet (x2)", "ShuffleNet (2x)"),
    )
    rows = [
        [
            name,
            f"{cost['macs']:,}",
            f"{cost['params']:,}",
            f"{cost['peak_bytes'] / 1000:,.1f}",
            f"{table4.loc[row4, 'mult_adds_millions']:g}M, "
            f"{table4.loc[row4, 'params_millions']:g}M, {memory[row3]:g}",
        ]
        for name, cost, row4, row3 in networks
    ]
    plot = _bars_svg(
        [name for name, *_ in networks],
        [cost["peak_bytes"] / 1000 for _, cost, *_ in networks],
        f"peak memory at {input_size}px, kB (16 bits)",
    )
    note = (
        f"<p>At {input_size}x{input_size}. Peak: the largest input + output of an operation, a "
        "block as one (Section 5.1); Table 3 counts one tensor per resolution.</p>"
    )
    header = ["network (ours)", "MACs", "weights + biases", "peak kB", "paper, 224 (Tables 3, 4)"]
    return _table(header, rows) + note + plot


def mobilenet_v2_explorer(
    expansion: int = 6, width: float = 1.0, input_size: int = 224
) -> Explorer:
    """Expansion t, width α and input size -> MobileNetV2's MACs, parameters and peak
    activation memory, against MobileNet v1 and ShuffleNet 2x (Sandler et al. 2018)."""
    controls = {
        "expansion": _slider(w.IntSlider, expansion, 1, 10, 1, "expansion factor t"),
        "width": _slider(w.FloatSlider, width, 0.35, 1.4, 0.05, "width multiplier α"),
        "input_size": _slider(w.IntSlider, input_size, 96, 224, 32, "input size"),
    }
    return Explorer("MobileNetV2 explorer", controls, _mobilenet_v2_view)


# ---------------------------------------------------------------- roofline

#: Layer kinds the roofline explorer offers: (label, kind of :func:`roofline_costs`, kernel
#: side or ``None`` for the kernel-size control).
_ROOFLINE_KINDS = (
    ("standard convolution", "conv", None),
    ("1x1 pointwise", "conv", 1),
    ("depthwise", "depthwise", None),
)


def roofline_costs(
    kind: str,
    size: int,
    channels: int,
    filters: int,
    kernel_size: int = 3,
    strides: int = 1,
    groups: int = 1,
    *,
    roof,
) -> dict:
    """MACs, bytes moved and arithmetic intensity of one layer, and its roofline bound.

    The layer reads a ``size x size x channels`` float32 input and its weights and writes
    its output once (:func:`mobilecourse.costs.memory_traffic`, as
    :func:`mobilecourse.roofline.layer_point` counts it); "same" padding, no bias.

    Cost:
        conv: Dk^2 (M/g) N Dout^2 MACs; depthwise: Dk^2 M Dout^2 MACs; traffic = 4 (H W M
        + weights + Dout^2 N) bytes; intensity I = MACs / traffic; attainable
        = min(P, B I) GMAC/s under a roof of peak P GMAC/s and bandwidth B GB/s
        (Williams, Waterman and Patterson 2009).

    Args:
        kind: ``"conv"`` (standard, 1x1 or group convolution) or ``"depthwise"``.
        size: the input's height and width.
        channels: input channels M.
        filters: output channels N of a ``"conv"`` (ignored for ``"depthwise"``, whose
            output has ``channels`` channels).
        kernel_size: the kernel's side Dk.
        strides: the stride.
        groups: groups g of a ``"conv"``; must divide ``channels`` and ``filters`` (1 for
            ``"depthwise"``, which has one filter per channel).
        roof: a :class:`mobilecourse.roofline.Roof` (measured, or made up for a test).

    Returns:
        ``{"macs", "weights", "output_shape", "input_bytes", "weight_bytes",
        "output_bytes", "traffic_bytes", "intensity", "ridge", "peak_gmacs",
        "bandwidth_gbs", "attainable_gmacs", "bound", "min_time_us",
        "cache_attainable_gmacs"}``: ``bound`` is ``"memory"`` left of the ridge, else
        ``"compute"``; ``min_time_us`` = MACs / attainable; the cache roof's bound is
        ``None`` on a roof without ``cache_bandwidth_gbs``.

    Raises:
        TypeError: ``roof`` is not a ``Roof``, or a count is not an integer.
        ValueError: an unknown ``kind``, a non-positive count, ``groups`` that do not
            divide the channels, or ``groups`` other than 1 for ``"depthwise"``.
    """
    from mobilecourse import roofline

    if not isinstance(roof, roofline.Roof):
        raise TypeError(f"roof must be a roofline.Roof, got {type(roof).__name__}")
    kind = choice(kind, "kind", ("conv", "depthwise"))
    size = integer(size, "size")
    shape = (size, size, integer(channels, "channels"))
    groups = integer(groups, "groups")
    if kind == "conv":
        cost = costs.conv2d(shape, filters, kernel_size, strides, groups=groups, use_bias=False)
    elif groups != 1:
        raise ValueError(
            f"groups must be 1 for a depthwise convolution (one filter per channel), got {groups}"
        )
    else:
        cost = costs.depthwise_conv2d(shape, kernel_size, strides, use_bias=False)
    bytes_per_value = roofline.FLOAT32_BYTES
    traffic = costs.memory_traffic(shape, cost) * bytes_per_value
    intensity = cost.macs / traffic
    attainable = roof.attainable(intensity)
    cache = roof.attainable(intensity, "cache") if roof.cache_bandwidth_gbs else None
    return {
        "macs": cost.macs,
        "weights": cost.weights,
        "output_shape": cost.output_shape,
        "input_bytes": bytes_per_value * size * size * shape[2],
        "weight_bytes": bytes_per_value * cost.weights,
        "output_bytes": bytes_per_value * math.prod(cost.output_shape),
        "traffic_bytes": traffic,
        "intensity": intensity,
        "ridge": roof.ridge,
        "peak_gmacs": roof.peak_gmacs,
        "bandwidth_gbs": roof.bandwidth_gbs,
        "attainable_gmacs": attainable,
        "bound": "memory" if intensity < roof.ridge else "compute",
        "min_time_us": cost.macs / (attainable * 1e3),
        "cache_attainable_gmacs": cache,
    }


@functools.lru_cache(maxsize=1)
def _measured_roof():
    """This machine's roof, measured once per process (3 rounds of 5 runs: a few seconds)."""
    from mobilecourse import roofline

    return roofline.measure_roof(rounds=3, runs=5)


def _roofline_plot(r: dict, roof, label: str) -> str:
    from matplotlib.ticker import FuncFormatter, LogLocator

    def draw(ax):
        low = min(0.05, r["intensity"] / 2, roof.ridge / 4)
        high = max(500.0, r["intensity"] * 2, roof.ridge * 4)
        for bandwidth, name, style in (
            (roof.bandwidth_gbs, "memory", "-"),
            (roof.cache_bandwidth_gbs, "cache", "--"),
        ):
            if bandwidth:  # the roof bends where bandwidth x I reaches the peak
                bend = roof.peak_gmacs / bandwidth
                xs = [low, *([bend] if low < bend < high else []), high]
                ys = [min(roof.peak_gmacs, bandwidth * x) for x in xs]
                ax.plot(xs, ys, color="black" if name == "memory" else "grey", ls=style,
                        label=f"roof: {name}")  # fmt: skip
        ax.axvline(roof.ridge, color="grey", lw=0.8, ls=":", label=f"ridge {roof.ridge:.2f}")
        ax.scatter([r["intensity"]], [r["attainable_gmacs"]], color="tab:red", zorder=3,
                   label=label)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()  # (half the drawing time)
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        ax.set_xlabel("arithmetic intensity (MACs per byte, float32)")
        ax.set_ylabel("attainable GMAC/s")
        ax.legend(loc="lower right", fontsize=7)

    return _svg(draw, (5, 3))


def _roofline_view(roof, kind, size, channels, filters, kernel_size, strides, groups) -> str:
    label, fn_kind, fixed_kernel = next(k for k in _ROOFLINE_KINDS if k[0] == kind)
    unused = []
    if fixed_kernel is not None:
        kernel_size = fixed_kernel
        unused.append("kernel size")
    if fn_kind == "depthwise":
        filters, groups = channels, 1
        unused += ["output channels", "groups"]
    try:
        r = roofline_costs(
            fn_kind, size, channels, filters, kernel_size, strides, groups, roof=roof
        )
    except ValueError as err:
        return f"<p>{html.escape(str(err))}</p>"
    h, w_, n = r["output_shape"]
    name = {
        "standard convolution": f"standard {kernel_size}x{kernel_size} convolution",
        "1x1 pointwise": "1x1 pointwise convolution",
        "depthwise": f"depthwise {kernel_size}x{kernel_size} convolution",
    }[label]
    grouped = f", {groups} groups" if groups > 1 else ""
    layer = f"{name}{grouped}, stride {strides}: {size}x{size}x{channels} &rarr; {h}x{w_}x{n}"
    traffic = f"{r['input_bytes']:,} in + {r['weight_bytes']:,} weights + {r['output_bytes']:,} out"
    cache = r["cache_attainable_gmacs"]
    rows = [
        ["MACs", f"{r['macs']:,}", f"FLOPs = 2 x MACs = {2 * r['macs']:,}"],
        ["bytes moved (float32)", f"{r['traffic_bytes']:,}", traffic],
        ["arithmetic intensity I", f"{r['intensity']:.2f} MACs per byte",
         f"ridge P / B = {r['ridge']:.2f}"],
        ["roof", f"P = {r['peak_gmacs']:.1f} GMAC/s", f"B = {r['bandwidth_gbs']:.1f} GB/s"
         + ("" if cache is None else f" (from cache: {roof.cache_bandwidth_gbs:.1f} GB/s)")],
        ["attainable min(P, B·I)", f"{r['attainable_gmacs']:.1f} GMAC/s",
         f"<b>{r['bound']}-bound</b>; at least {r['min_time_us']:,.1f} µs"
         + ("" if cache is None else f" ({cache:.1f} GMAC/s from cache)")],
    ]  # fmt: skip
    note = f"<p>(Not used by this layer: {', '.join(unused)}.)</p>" if unused else ""
    plot = _roofline_plot(r, roof, f"this layer: I = {r['intensity']:.2f}")
    return f"<p>{layer}</p>" + _table([], rows) + note + plot


def roofline_explorer(
    kind: str = "standard convolution",
    size: int = 56,
    channels: int = 64,
    filters: int = 64,
    kernel_size: int = 3,
    strides: int = 1,
    groups: int = 1,
    roof=None,
) -> Explorer:
    """A layer's MACs, bytes moved and arithmetic intensity, placed under a roofline.

    Args:
        kind: ``"standard convolution"``, ``"1x1 pointwise"`` or ``"depthwise"``.
        size, channels, filters, kernel_size, strides, groups: the layer's first settings.
        roof: a :class:`mobilecourse.roofline.Roof` (a lesson passes the one it measured);
            ``None`` measures this machine's once per process (a few seconds).

    Raises:
        TypeError: ``roof`` is neither ``None`` nor a ``Roof``.
    """
    from mobilecourse import roofline

    if roof is None:
        roof = _measured_roof()
    elif not isinstance(roof, roofline.Roof):
        raise TypeError(f"roof must be a roofline.Roof or None, got {type(roof).__name__}")
    controls = {
        "kind": _dropdown([k[0] for k in _ROOFLINE_KINDS], kind, "layer"),
        "size": _slider(w.IntSlider, size, 1, 224, 1, "input size H = W"),
        "channels": _slider(w.IntSlider, channels, 1, 1024, 1, "input channels M"),
        "filters": _slider(w.IntSlider, filters, 1, 1024, 1, "output channels N"),
        "kernel_size": _slider(w.IntSlider, kernel_size, 1, 7, 1, "kernel size Dk"),
        "strides": _slider(w.IntSlider, strides, 1, 2, 1, "stride"),
        "groups": _dropdown(_GROUP_CHOICES, groups, "groups g"),
    }
    return Explorer("Roofline explorer", controls, functools.partial(_roofline_view, roof))


# ---------------------------------------------------------------- Deep Compression

#: The densities the compression explorer offers: Table 1's share per layer, or one share
#: of weights kept in every kernel.
COMPRESSION_DENSITIES = ("table1", 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@functools.lru_cache(maxsize=2)
def _squeezenet_kernels(seed: int):
    """Lesson 07's SqueezeNet weights: ``models.squeezenet()`` built after
    ``keras.utils.set_random_seed(seed)`` (untrained, Glorot-uniform kernels).

    Returns ``(kernels, biases, params)``: read-only float32 kernels by layer name (in the
    order of :func:`mobilecourse.quantize.squeezenet_densities`), the bias count and all
    parameters. The caller's Python and NumPy random states are left as they were.
    """
    import random

    import numpy as np

    from mobilecourse import quantize, quiet_tensorflow

    quiet_tensorflow()
    import keras

    from mobilecourse import models

    states = random.getstate(), np.random.get_state()
    try:
        keras.utils.set_random_seed(seed)
        model = models.squeezenet()
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
    kernels = {}
    for name in quantize.squeezenet_densities():
        kernels[name] = keras.ops.convert_to_numpy(model.get_layer(name).kernel)
        kernels[name].setflags(write=False)
    biases = sum(int(model.get_layer(name).bias.shape[0]) for name in kernels)
    return kernels, biases, model.count_params()


def _density(density) -> object:
    """``"table1"``, or the density as an exact fraction in (0, 1]."""
    from fractions import Fraction

    if isinstance(density, str):
        return choice(density, "density", ("table1",))
    value = Fraction(str(positive_number(density, "density")))
    if value > 1:
        raise ValueError(f"density must be 'table1' or a number in (0, 1], got {density!r}")
    return value


@functools.lru_cache(maxsize=128)
def _compressed_sizes(density, bits: int, index_bits: int, seed: int) -> dict:
    from fractions import Fraction

    from mobilecourse import quantize

    kernels, biases, params = _squeezenet_kernels(seed)
    table1 = quantize.squeezenet_densities()
    layers, compressed = {}, []
    for name, kernel in kernels.items():
        d = Fraction(table1[name], 100) if density == "table1" else density
        keep = math.ceil(d * kernel.size)
        c = quantize.deep_compress(kernel, keep, bits, index_bits)
        compressed.append(c)
        layers[name] = {"weights": kernel.size, "kept": keep, "entries": c.entries}
    sizes = {
        name: quantize.network_storage_bytes(compressed, huffman, biases)
        for name, huffman in (("fixed", False), ("huffman", True))
    }
    return {
        "layers": layers,
        **sizes,
        "fixed_total": sum(sizes["fixed"].values()),
        "huffman_total": sum(sizes["huffman"].values()),
        "float32_bytes": costs.model_size_bytes(params, 32),
        "params": params,
        "biases": biases,
        "kept": sum(row["kept"] for row in layers.values()),
        "fillers": sum(row["entries"] - row["kept"] for row in layers.values()),
    }


def compression_sizes(
    density="table1", bits: int = 6, index_bits: int = 4, seed: int | None = None
) -> dict:
    """SqueezeNet v1.0 stored with Deep Compression: sizes with and without Huffman coding.

    Lesson 07's weights (``models.squeezenet()`` built after
    ``keras.utils.set_random_seed(seed)``: untrained). Every kernel keeps its ``ceil(d * n)``
    weights of largest ``|w|`` and is stored by :func:`mobilecourse.quantize.deep_compress`
    (k-means sharing with ``2**bits`` codebook entries, ``index_bits`` relative indices with
    filler zeros); the parts are added by :func:`mobilecourse.quantize.network_storage_bytes`
    with the biases in float32. Results are cached.

    Cost:
        without Huffman: codes ceil(entries * bits / 8), indices ceil(entries * index_bits
        / 8) (none for a kernel kept whole), codebook 4 * 2**bits bytes, per kernel;
        entries = kept + fillers. Table 1's densities at 6 bits and 4-bit indices land
        near Table 2's 0.47 MB (Iandola et al. 2016; lesson 07).

    Args:
        density: ``"table1"`` (Table 1's share of each kernel,
            :func:`mobilecourse.quantize.squeezenet_densities`) or one share kept in every
            kernel, a number in (0, 1]; 1 keeps every kernel whole (no indices).
        bits: bits per code, 2 to 8.
        index_bits: bits per relative index, 1 to 8.
        seed: the weights' seed; ``None`` takes :func:`mobilecourse.default_seed`, the
            lesson's.

    Returns:
        ``{"fixed": parts, "huffman": parts, "fixed_total", "huffman_total",
        "float32_bytes", "params", "biases", "kept", "fillers", "layers"}``: ``parts`` are
        ``{"codes", "indices", "codebook", "tables", "biases"}`` in bytes; ``kept`` counts
        kernel weights kept (biases apart), ``fillers`` the filler entries; ``layers`` has
        ``{"weights", "kept", "entries"}`` of each kernel.

    Raises:
        TypeError: ``bits``, ``index_bits`` or ``seed`` not an integer, or ``density``
            not a number or string.
        ValueError: ``density`` outside (0, 1] and not ``"table1"``; ``bits`` or
            ``index_bits`` out of range.
    """
    import copy

    from mobilecourse import default_seed

    density = _density(density)
    bits = integer(bits, "bits", 2, maximum=8)
    index_bits = integer(index_bits, "index_bits", 1, maximum=8)
    seed = default_seed() if seed is None else integer(seed, "seed", 0)
    return copy.deepcopy(_compressed_sizes(density, bits, index_bits, seed))


def _compression_plot(r: dict, bits: int, paper) -> str:
    from mobilecourse.units import MIB

    labels = [
        f"ours: {bits}-bit codes",
        f"ours: {bits}-bit, Huffman",
        "paper: 8 bit",
        "paper: 6 bit",
    ]
    values = [r["fixed_total"] / MIB, r["huffman_total"] / MIB]
    values += [float(paper[data_type]) for data_type in ("8 bit", "6 bit")]
    return _bars_svg(labels, values, "MiB (paper: MB as printed, Table 2)")


def _compression_view(seed, density, bits: int, index_bits: int) -> str:
    from mobilecourse.data import paper_table
    from mobilecourse.units import MIB

    r = compression_sizes(density, bits, index_bits, seed)
    names = {"codebook": "codebooks", "tables": "Huffman tables", "biases": "biases (float32)"}
    rows = [
        [names.get(part, part), f"{r['fixed'][part]:,}", f"{r['huffman'][part]:,}"]
        for part in r["fixed"]
    ]
    float32 = r["float32_bytes"]
    rows.append(
        [f"<b>total</b> (float32: {float32:,})"]
        + [
            f"<b>{t:,}</b> = {t / MIB:.3f} MiB, {float32 / t:.1f}x smaller"
            for t in (r["fixed_total"], r["huffman_total"])
        ]
    )
    chosen = "Table 1's densities" if density == "table1" else f"{density:.0%} of each kernel"
    head = (
        f"<p>{chosen}: {r['kept']:,} of {r['params'] - r['biases']:,} weights kept, "
        f"{r['fillers']:,} fillers</p>"
    )
    table2 = paper_table("squeezenet_table2")
    paper = table2[table2["architecture"] == "SqueezeNet"].set_index("data_type")["model_size_mb"]
    base = float(paper["32 bit"])
    compressed = [f"{paper[t]:g} MB ({base / paper[t]:.1f}x) at {t}" for t in ("8 bit", "6 bit")]
    against = f"<p>SqueezeNet's Table 2: {base:g} MB &rarr; {', '.join(compressed)}</p>"
    table = _table(["bytes", "fixed-width codes", "Huffman-coded"], rows)
    return head + table + against + _compression_plot(r, bits, paper)


def compression_explorer(
    density="table1", bits: int = 6, index_bits: int = 4, seed: int | None = None
) -> Explorer:
    """Density, code bits and index bits -> SqueezeNet's size with Deep Compression, with
    and without Huffman coding, against the paper's Table 2 (Iandola et al. 2016).

    Args:
        density: ``"table1"`` or one of :data:`COMPRESSION_DENSITIES`.
        bits: bits per code, 2 to 8.
        index_bits: bits per relative index, 1 to 8.
        seed: the weights' seed (``None``: the lesson's, :func:`mobilecourse.default_seed`).
    """
    labels = [("Table 1", "table1")]
    labels += [(f"{d:.0%} of each kernel", d) for d in COMPRESSION_DENSITIES[1:]]
    controls = {
        "density": _dropdown(labels, density, "weights kept"),
        "bits": _slider(w.IntSlider, bits, 2, 8, 1, "code bits"),
        "index_bits": _slider(w.IntSlider, index_bits, 1, 8, 1, "index bits"),
    }
    return Explorer(
        "Deep Compression explorer", controls, functools.partial(_compression_view, seed)
    )
