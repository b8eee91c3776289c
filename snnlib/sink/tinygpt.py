"""A tiny transformer in which an attention sink forms on a CPU in minutes (chapter 7).

:class:`TinyGPT` is pre-LN with learned absolute positions (or rotary ones, as Llama, or none)
and switchable attention:

* ``'softmax'`` — the standard; rows sum to one, so a head that wants to do nothing must put
  its attention somewhere (the sink);
* ``'softmax1'`` — softmax-off-by-one, ``e^{s_j} / (1 + Σ e^{s_j'})``: rows may sum below one;
* ``'sigmoid'`` — ``σ(s_j)`` without normalisation;
* ``gate=True`` — a head-wise sigmoid gate on each head's output (gated attention);
* ``sink_token=True`` — a learnable token prepended at position 0, dropped from the output;
* ``waiver=`` (in :meth:`TinyGPT.forward`) — a structured mask around a dedicated waiver element:
  a learned vector that carries no input content, inserted at a chosen position of each
  sequence, visible to every query (earlier ones included), seeing only itself and predicting
  nothing. Because it holds no input token, no query can see a later token through it.

Every option keeps the model causal in content: changing input token ``j`` never changes the
logits at positions before ``j`` (tested over all options). ``causal=False`` makes the same model
bidirectional (an encoder, as BERT), trained on masked tokens (:func:`mask_tokens`), so that
global and causal attention can be compared on one code base. :func:`streaming_logits` reads a
long stream with StreamingLLM's bounded cache (sink tokens + a rolling window, positions
re-indexed inside the cache), or recomputes the held tokens at every step.

:class:`BigramBackcopy` generates Guo et al.'s Bigram-Backcopy task offline: a random bigram
chain where, after one of a few trigger tokens, the next token copies the token before the
trigger. Heads must switch on at triggers and off elsewhere, which is what makes a sink useful.
"""
from __future__ import annotations

import math
import torch
from torch import nn

from .._checks import integer, number
from ..train.engine import Step, run_loop
from .metrics import Internals, attention_received, transformed_norms, value_norm_ratio

ATTENTIONS = ("softmax", "softmax1", "sigmoid")
POSITIONS = ("learned", "rotary", "none")


def rotate(x: torch.Tensor, positions: torch.Tensor, base: float = 10_000.0) -> torch.Tensor:
    """Rotary position embedding (RoPE, as Llama: the two halves of each head's dimensions pair up)
    of queries or keys ``x`` ``[B, H, T, dh]`` at ``positions`` ``[B, T]``: pair ``i`` turns by
    ``position · base^(-2i/dh)``, so ``q_m · k_n`` depends on ``m - n`` only."""
    dh = x.shape[-1]
    if dh % 2:
        raise ValueError(f"rotary positions need an even head width; got {dh}")
    freq = base ** (-torch.arange(0, dh, 2, device=x.device, dtype=x.dtype) / dh)     # [dh/2]
    angle = positions.to(x.dtype)[:, None, :, None] * freq                              # [B, 1, T, dh/2]
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class Block(nn.Module):
    def __init__(self, d: int, heads: int, attention: str, gate: bool):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.gate = nn.Linear(d, heads) if gate else None
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``ln1(x)`` and the queries, keys (not yet rotated) and values ``[B, H, T, dh]`` of ``x`` ``[B, T, d]``."""
        B, T, d = x.shape
        h = self.ln1(x)
        q, k, v = self.qkv(h).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return h, q, k, v

    def attend(self, x: torch.Tensor, h: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               visible: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The next residual stream for queries ``x`` ``[B, Tq, d]`` (``h = ln1(x)``, queries ``q``
        ``[B, H, Tq, dh]``) over keys ``k`` and values ``v`` ``[B, H, Tk, dh]`` (rotated already where
        positions are rotary); ``visible`` ``[B, Tq, Tk]``. Also returns the attention ``[B, H, Tq, Tk]``."""
        B, Tq, d = x.shape
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        blocked = ~visible[:, None]                                              # [B, 1, Tq, Tk]
        if self.attention == "softmax":
            a = scores.masked_fill(blocked, float("-inf")).softmax(-1)
        elif self.attention == "softmax1":   # an extra logit 0 with value 0 absorbs the rest
            e = scores.masked_fill(blocked, float("-inf"))
            top = e.amax(-1, keepdim=True).clamp_min(0.0)
            ex = (e - top).exp()
            a = ex / (ex.sum(-1, keepdim=True) + (-top).exp())
        else:
            a = torch.sigmoid(scores).masked_fill(blocked, 0.0)
        o = a @ v                                                                # [B, H, Tq, dh]
        if self.gate is not None:
            o = o * torch.sigmoid(self.gate(h)).transpose(1, 2)[..., None]       # one gate per head and token
        x = x + self.out(o.transpose(1, 2).reshape(B, Tq, d))
        return x + self.mlp(self.ln2(x)), a

    def forward(self, x: torch.Tensor, visible: torch.Tensor, rotary: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next residual stream, and this layer's attention ``[B, H, T, T]`` and values ``[B, H, T, dh]``;
        ``rotary``: the positions ``[B, T]`` at which queries and keys are rotated (RoPE)."""
        h, q, k, v = self.project(x)
        if rotary is not None:
            q, k = rotate(q, rotary), rotate(k, rotary)
        x, a = self.attend(x, h, q, k, v, visible)
        return x, a, v


class TinyGPT(nn.Module):
    """A small transformer (pre-LN; learned absolute, rotary or no positions), causal by default
    (a decoder, as GPT and Llama) or bidirectional (``causal=False``: an encoder, as BERT, trained
    on masked tokens); see the module docstring.

    Args:
        vocab: vocabulary size (including BOS and, for an encoder, the mask token).
        max_len: the longest sequence with learned positions (the number of position embeddings);
            rotary and no positions have no such limit.
        d, layers, heads: width, depth and heads.
        attention: ``'softmax'``, ``'softmax1'`` or ``'sigmoid'``.
        gate: a head-wise sigmoid output gate.
        sink_token: prepend a learnable sink token (not part of the output).
        waiver_element: learn the dedicated waiver element that ``forward(waiver=...)`` inserts.
        positions: ``'learned'`` (absolute, added to the input, as GPT-2), ``'rotary'`` (queries and
            keys rotated by position in every layer, as Llama) or ``'none'``.
        causal: ``True`` (query t sees keys j <= t) or ``False`` (every query sees every key).
    """

    def __init__(self, vocab: int, max_len: int = 64, d: int = 64, layers: int = 2, heads: int = 2,
                 attention: str = "softmax", gate: bool = False, sink_token: bool = False,
                 waiver_element: bool = False, positions: str = "learned", causal: bool = True):
        super().__init__()
        for name, value in (("vocab", vocab), ("max_len", max_len), ("d", d), ("layers", layers), ("heads", heads)):
            integer(name, value)
        if d % heads:
            raise ValueError(f"d={d} must be divisible by heads={heads}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {attention!r}")
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}; got {positions!r}")
        if positions == "rotary" and (d // heads) % 2:
            raise ValueError(f"rotary positions need an even head width d/heads; got {d // heads}")
        if not isinstance(causal, bool):
            raise ValueError(f"causal must be True or False; got {causal!r}")
        self.vocab, self.max_len, self.attention, self.gate = vocab, max_len, attention, gate
        self.causal = causal
        self.tok = nn.Embedding(vocab, d)
        self.positions = positions
        self.pos = nn.Embedding(max_len + int(sink_token), d) if positions == "learned" else None
        self.sink = nn.Parameter(torch.randn(d) * 0.02) if sink_token else None
        self.blocks = nn.ModuleList(Block(d, heads, attention, gate) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        # the structured mask's waiver element: its own embedding, no token, no position (made
        # last, so the other parameters start the same with or without it)
        self.waiver = nn.Parameter(torch.randn(d) * 0.02) if waiver_element else None

    def _check_ids(self, ids: torch.Tensor) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype not in (torch.int64, torch.int32):
            got = f"{ids.dtype} {list(ids.shape)}" if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"ids must be integer token ids [B, T]; got {got}")
        if ids.numel() == 0:
            raise ValueError(f"ids must hold at least one token; got {list(ids.shape)}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.vocab:
            raise ValueError(f"token ids must lie in [0, {self.vocab}); got [{int(ids.min())}, {int(ids.max())}]")

    def forward(self, ids: torch.Tensor, waiver: torch.Tensor | None = None, return_internals: bool = False,
                window: int | None = None, keep_first: int = 0, position_ids: torch.Tensor | None = None):
        """Logits ``[B, T, vocab]`` for token ids ``[B, T]`` (and :class:`Internals` if asked).

        ``waiver`` ``[B]``: where each sequence gets the dedicated waiver element (structured mask),
        ``0 <= waiver <= T``: the element is inserted before input token ``waiver``; the input
        tokens keep their positions. Internals then cover ``T + 1`` (+ sink token) elements, the
        waiver element at index ``waiver`` (+ 1 with a sink token); the logits cover the input
        tokens only. As every query sees the element and it sees only itself, where it is inserted
        changes nothing the input tokens compute; it orders the internals.
        ``window``, ``keep_first``: a StreamingLLM-style mask (causal models) — each query sees only
        the last ``window`` positions (itself included) plus the first ``keep_first`` ones.
        ``position_ids`` ``[T]`` or ``[B, T]``: the positions of the input tokens (default
        ``0 .. T-1``, or ``1 .. T`` after a sink token, which keeps position 0), e.g. shifted; with
        learned positions they must lie below ``max_len`` (+ 1 with a sink token).
        """
        self._check_ids(ids)
        B, T = ids.shape
        offset = int(self.sink is not None)
        if self.pos is not None and position_ids is None and T > self.max_len:
            raise ValueError(f"sequences of {T} tokens exceed max_len={self.max_len} (learned positions)")
        if window is not None and not self.causal:
            raise ValueError("window= is a causal (streaming) mask; this TinyGPT is bidirectional (causal=False)")
        if position_ids is None:
            position_ids = torch.arange(offset, T + offset, device=ids.device)
        position_ids = self._checked_positions(position_ids, B, T, offset)
        x = self.tok(ids)
        if self.sink is not None:
            x = torch.cat([self.sink.expand(B, 1, -1), x], 1)
            position_ids = torch.cat([torch.zeros(B, 1, dtype=position_ids.dtype, device=ids.device),
                                      position_ids], 1)
        n = T + offset
        places = position_ids                                                    # [B, n]
        if self.pos is not None:
            x = x + self.pos(places)
        if waiver is not None:
            if self.waiver is None:
                raise ValueError("waiver= needs a model built with waiver_element=True (its learned element)")
            if not isinstance(waiver, torch.Tensor) or waiver.shape != (B,) or waiver.dtype not in (torch.int64, torch.int32):
                got = f"{waiver.dtype} {list(waiver.shape)}" if isinstance(waiver, torch.Tensor) else type(waiver).__name__
                raise ValueError(f"waiver must give one integer position per sequence, [{B}]; got {got}")
            if int(waiver.min()) < 0 or int(waiver.max()) > T:
                raise ValueError(f"waiver positions must lie in [0, {T}]; got [{int(waiver.min())}, {int(waiver.max())}]")
            w = waiver.to(ids.device) + offset                                   # [B]
            # the waiver element sits at place 0 for rotary positions (it sees only itself)
            x = self._insert_waiver(x, w, self.waiver)
            places = self._insert_waiver(places[..., None], w, torch.zeros(1, dtype=places.dtype))[..., 0]
            n += 1
        visible = torch.ones(n, n, dtype=torch.bool, device=ids.device)
        if self.causal:
            visible = visible.tril()
        if window is not None:
            integer("window", window)
            integer("keep_first", keep_first, 0)
            t = torch.arange(n, device=ids.device)
            visible &= ((t[:, None] - t[None, :]) < window) | (t[None, :] < keep_first + offset)
        visible = visible.expand(B, n, n).clone()
        if waiver is not None:
            rows = torch.arange(B, device=ids.device)
            visible[rows, :, w] = True          # every query sees the waiver element
            visible[rows, w, :] = False         # which sees only itself
            visible[rows, w, w] = True
        hidden, attentions, values = [x], [], []
        for block in self.blocks:
            x, a, v = block(x, visible, places if self.positions == "rotary" else None)
            hidden.append(x)
            attentions.append(a)
            values.append(v)
        out = x if waiver is None else self._drop_waiver(x, w)
        logits = self.head(self.ln_f(out))[:, offset:]
        if not return_internals:
            return logits
        values = torch.stack(values)
        internals = Internals(
            attentions=torch.stack(attentions), values=values,
            fnorms=transformed_norms(values, [block.out.weight for block in self.blocks]), hidden=torch.stack(hidden),
            mask=torch.ones(B, n, dtype=torch.bool, device=ids.device), causal=self.causal and waiver is None)
        return logits, internals

    def _checked_positions(self, position_ids, B: int, T: int, offset: int) -> torch.Tensor:
        if not isinstance(position_ids, torch.Tensor) or position_ids.dtype not in (torch.int64, torch.int32) \
                or tuple(position_ids.shape) not in ((T,), (B, T)):
            got = (f"{position_ids.dtype} {list(position_ids.shape)}" if isinstance(position_ids, torch.Tensor)
                   else type(position_ids).__name__)
            raise ValueError(f"position_ids must be integer positions [{T}] or [{B}, {T}]; got {got}")
        top = self.max_len + offset if self.pos is not None else None
        if int(position_ids.min()) < 0 or (top is not None and int(position_ids.max()) >= top):
            bound = f"[0, {top})" if top is not None else ">= 0"
            raise ValueError(f"position_ids must lie in {bound}; got [{int(position_ids.min())}, "
                             f"{int(position_ids.max())}]")
        return position_ids.long().to(self.tok.weight.device).expand(B, T)

    @staticmethod
    def _insert_waiver(x: torch.Tensor, w: torch.Tensor, element: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, n, d]`` with ``element`` ``[d]`` inserted at index ``w[b]``: ``[B, n + 1, d]``."""
        B, n, d = x.shape
        idx = torch.arange(n + 1, device=x.device).expand(B, -1)               # [B, n + 1]
        source = (idx - (idx > w[:, None]).long()).clamp_max(n - 1)            # the input element each index holds
        out = x.gather(1, source[..., None].expand(-1, -1, d))
        return torch.where((idx == w[:, None])[..., None], element.to(x.dtype).expand(B, n + 1, d), out)

    @staticmethod
    def _drop_waiver(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`_insert_waiver`: ``[B, n + 1, d]`` → ``[B, n, d]``."""
        B, m, d = x.shape
        idx = torch.arange(m - 1, device=x.device).expand(B, -1)
        source = idx + (idx >= w[:, None]).long()
        return x.gather(1, source[..., None].expand(-1, -1, d))


class BigramBackcopy:
    """Bigram-Backcopy sequences over ``vocab`` content tokens (ids ``0 .. vocab-1``; BOS = ``vocab``).

    A random bigram chain (transition rows drawn from Dirichlet(``concentration``)) with ``triggers``
    trigger tokens — the most frequent under the chain's stationary distribution. After a trigger,
    the next token is the token *before* the trigger (backcopy); elsewhere it follows the bigram.
    With ``bos=True`` every sequence starts with the fixed BOS token; otherwise with a random token.
    The chain is fixed by ``seed``; :meth:`sample` draws sequences with its own generator.
    """

    def __init__(self, vocab: int = 64, triggers: int = 3, length: int = 64, bos: bool = True,
                 concentration: float = 0.2, seed: int = 0):
        self.vocab, self.length, self.bos = integer("vocab", vocab, 2), integer("length", length, 3), bos
        integer("triggers", triggers)
        if triggers >= vocab:
            raise ValueError(f"triggers ({triggers}) must be fewer than the vocabulary ({vocab})")
        gamma = torch.distributions.Gamma(torch.full((vocab, vocab), concentration), torch.ones(vocab, vocab))
        torch.manual_seed(seed)  # Gamma sampling uses the global generator; fixed for the chain
        rows = gamma.sample()
        self.transition = rows / rows.sum(-1, keepdim=True)                # [V, V]
        stationary = torch.full((vocab,), 1.0 / vocab)
        for _ in range(500):
            stationary = stationary @ self.transition
        self.stationary = stationary
        self.triggers = torch.topk(stationary, triggers).indices.sort().values
        self._generator = torch.Generator().manual_seed(seed)
        # what sampling needs, computed once
        self._cdf = self.transition.cumsum(-1)
        self._cdf[:, -1] = 1.0                                              # guard against rounding
        self._start_cdf = stationary.cumsum(0)
        self._is_trigger = torch.zeros(vocab + 1, dtype=torch.bool)
        self._is_trigger[self.triggers] = True
        self._first = 1 if bos else 0                                       # the first content position

    @property
    def bos_id(self) -> int:
        return self.vocab

    @property
    def model_vocab(self) -> int:
        """The vocabulary a (causal) model needs: the content tokens plus BOS."""
        return self.vocab + 1

    @property
    def mask_id(self) -> int:
        """The mask token of the masked-token objective (an encoder's vocabulary is ``model_vocab + 1``)."""
        return self.vocab + 1

    def sample(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[batch, length]`` token ids following the rule (see the class docstring)."""
        g = generator or self._generator
        first = self._first
        u = torch.rand(self.length, batch, generator=g)                   # row t: the draws for step t
        ids = torch.empty(batch, self.length, dtype=torch.long)
        start = torch.searchsorted(self._start_cdf, u[0]).clamp(max=self.vocab - 1)
        ids[:, 0] = self.bos_id if self.bos else start
        if self.bos:
            ids[:, 1] = start
        for t in range(first + 1, self.length):
            prev = ids[:, t - 1]
            nxt = torch.searchsorted(self._cdf[prev], u[t][:, None])[:, 0].clamp(max=self.vocab - 1)
            copy = self._is_trigger[prev] & (t - 2 >= first)
            ids[:, t] = torch.where(copy, ids[:, t - 2], nxt)
        return ids

    def backcopy_positions(self, ids: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` booleans: positions whose token the backcopy rule determines."""
        out = torch.zeros_like(ids, dtype=torch.bool)
        out[:, self._first + 2:] = self._is_trigger[ids[:, self._first + 1:-1]]
        return out


def next_token_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of predicting ``ids[:, t+1]`` from ``logits[:, t]`` (``[B, T, vocab]``, ``[B, T]``)."""
    return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def sink_summary(model: TinyGPT, ids: torch.Tensor, position: int = 0, waiver: torch.Tensor | None = None,
                 eps: float = 0.3, targets: torch.Tensor | None = None, skip: int = 0) -> dict:
    """Loss and sink metrics of ``model`` on ``ids`` ``[B, T]``: the loss (next-token for a causal
    model; for a bidirectional one the masked-token loss against ``targets``, with ``ids`` the
    masked inputs), the attention received by ``position`` per layer and head (``alpha`` ``[L, H]``,
    averaged over sequences), the same after each attention row is scaled to sum to one
    (``alpha_share``; equal to ``alpha`` for softmax, a share of the row for softmax-off-by-one and
    sigmoid attention), the sink rate ``Sink^eps`` in % (on ``alpha_share``, so that unnormalised
    attention, whose raw weights may all exceed ``eps``, is measured as shares too), and the value-norm ratio of
    that position per layer (averaged over heads and sequences). ``position`` counts the learnable
    sink token when the model has one (0 is then the sink token, 1 the first input token). With
    ``waiver`` the metrics are taken at each sequence's waiver position. ``skip``: the next-token
    loss leaves out the first ``skip`` predictions (e.g. 1 to drop the prediction made from BOS
    alone, so that models with and without BOS are scored on the same targets)."""
    integer("skip", skip, 0)
    if skip >= ids.shape[1] - 1:
        raise ValueError(f"skip={skip} leaves no prediction in sequences of {ids.shape[1]} tokens")
    if not model.causal and targets is None:
        raise ValueError("a bidirectional TinyGPT is scored on masked tokens: pass targets (from mask_tokens)")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, inside = model(ids, waiver=waiver, return_internals=True)
        loss = (next_token_loss(logits[:, skip:], ids[:, skip:]) if targets is None
                else masked_token_loss(logits, targets)).item()
        offset = inside.attentions.shape[-1] - ids.shape[1]        # 1 with a sink token
        alpha = attention_received(inside.attentions, causal=inside.causal,
                                   normalised=model.attention == "softmax")          # [L, B, H, T]
        a = inside.attentions
        rows = a / a.sum(-1, keepdim=True).clamp_min(1e-12)
        share = attention_received(rows, causal=inside.causal, normalised=False)
        where = torch.as_tensor(position).expand(ids.shape[0]) if waiver is None else waiver + offset   # [B]
        index = where.view(1, -1, 1, 1).expand(alpha.shape[0], -1, alpha.shape[2], 1)
        a_pos, share_pos = alpha.gather(-1, index)[..., 0], share.gather(-1, index)[..., 0]
        ratio = value_norm_ratio(inside.values, where)
    model.train(was_training)
    return {"loss": loss, "alpha": a_pos.mean(1), "alpha_share": share_pos.mean(1),
            "sink_rate": 100.0 * (share_pos > eps).float().mean().item(), "value_ratio": ratio.mean(dim=(1, 2))}


def train_tinygpt(model: TinyGPT, task: BigramBackcopy, steps: int, *, batch: int = 64, lr: float = 1e-3,
                  weight_decay: float = 0.01, seed: int = 0, eval_every: int = 100, eval_batch: int = 256,
                  waiver: bool = False, progress: bool = True, on_eval=None, mask_rate: float = 0.15) -> list[dict]:
    """AdamW on next-token prediction (a causal model) or on masked tokens (a bidirectional one:
    ``mask_rate`` of the content tokens replaced by ``task.mask_id``, BOS never masked); every
    ``eval_every`` steps :func:`sink_summary` on a fixed evaluation batch. ``waiver=True`` inserts
    the model's dedicated waiver element (built with ``waiver_element=True``) at a random position
    in 4..length/2 of every sequence (a structured mask). ``on_eval(step, model)`` is called at
    every evaluation (e.g. to keep attention snapshots). Returns the evaluations, with ``step``."""
    integer("steps", steps)
    integer("eval_every", eval_every)
    if waiver and model.waiver is None:
        raise ValueError("waiver=True needs a TinyGPT built with waiver_element=True")
    if not model.causal and model.vocab <= task.mask_id:
        raise ValueError(f"a bidirectional TinyGPT needs the mask token {task.mask_id} in its vocabulary: "
                         f"vocab={task.mask_id + 1}; got {model.vocab}")
    if not model.causal:
        number("mask_rate", mask_rate, "in (0, 1]", lambda r: 0 < r <= 1)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    eval_ids = task.sample(eval_batch, torch.Generator().manual_seed(10_000 + seed))

    def masked(ids: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return mask_tokens(ids, task.mask_id, mask_rate, gen, protect=ids == task.bos_id)

    eval_targets = None
    if not model.causal:
        eval_ids, eval_targets = masked(eval_ids, torch.Generator().manual_seed(30_000 + seed))
    pick = (lambda n, gen: torch.randint(4, max(5, task.length // 2), (n,), generator=gen)) if waiver else None
    eval_waiver = pick(eval_batch, torch.Generator().manual_seed(20_000 + seed)) if waiver else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))
    device = next(model.parameters()).device
    history = []

    def evaluation(step: int) -> dict | None:
        if step % eval_every and step != steps:  # step 0 (before training) is always evaluated
            return None
        targets = None if eval_targets is None else eval_targets.to(device)
        history.append({"step": step, **sink_summary(model, eval_ids.to(device), waiver=eval_waiver,
                                                     targets=targets)})
        if on_eval is not None:
            on_eval(step, model)
        return {"loss": f"{history[-1]['loss']:.3f}", "sink": f"{history[-1]['sink_rate']:.0f}%"}

    def training_step(ids: torch.Tensor) -> Step:
        if not model.causal:
            inputs, targets = masked(ids, g)
            return Step(masked_token_loss(model(inputs.to(device)), targets.to(device)))
        ids = ids.to(device)
        return Step(next_token_loss(model(ids, waiver=pick(len(ids), g) if waiver else None), ids))

    evaluation(0)
    endless = iter(lambda: task.sample(batch, g), None)
    run_loop(model, endless, training_step, opt, steps_per_epoch=steps, device=device, seed=None,
             progress=progress, desc="TinyGPT", unit="step", on_step=evaluation)
    return history


def mask_tokens(ids: torch.Tensor, mask_id: int, rate: float = 0.15, generator: torch.Generator | None = None,
                protect: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masked-token objective on token ids ``[B, T]``: every token not ``protect``-ed
    (``[B, T]`` booleans, e.g. BOS) is masked with probability ``rate``, at least one per
    sequence. Returns the inputs (masked tokens replaced by ``mask_id``) and the targets (the
    original token where masked, ``-100`` — ignored by :func:`masked_token_loss` — elsewhere)."""
    if ids.dim() != 2 or ids.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"ids must be integer token ids [B, T]; got {ids.dtype} {list(ids.shape)}")
    number("rate", rate, "in (0, 1]", lambda r: 0 < r <= 1)
    integer("mask_id", mask_id, 0)
    protect = torch.zeros_like(ids, dtype=torch.bool) if protect is None else protect.bool()
    if protect.shape != ids.shape:
        raise ValueError(f"protect must match ids {list(ids.shape)}; got {list(protect.shape)}")
    if protect.all(-1).any():
        raise ValueError("every sequence needs at least one token that may be masked (protect covers a whole row)")
    draw = torch.rand(ids.shape, generator=generator).to(ids.device).masked_fill(protect, 2.0)
    masked = draw < rate
    masked[torch.arange(ids.shape[0]), draw.argmin(-1)] = True                # at least one per sequence
    return ids.masked_fill(masked, mask_id), ids.masked_fill(~masked, -100)


def masked_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy at the masked places (``targets != -100``) of logits ``[B, T, vocab]``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def streaming_logits(model: TinyGPT, ids: torch.Tensor, cache: int, sinks: int = 0,
                     recompute: bool = False) -> torch.Tensor:
    """Next-token logits ``[B, T, vocab]`` of a causal ``model`` reading the stream ``ids`` ``[B, T]``
    one token at a time with room for ``cache`` tokens: the first ``sinks`` tokens of the stream
    and the most recent ``cache - sinks`` (the current one included) — StreamingLLM's cache
    (chapter 7). ``sinks=0`` is window attention.

    Positions are re-indexed inside the cache, as StreamingLLM does: the tokens held sit at
    ``0 .. n-1`` in cache order, the current one last, so no position exceeds ``cache - 1``
    however long the stream.

    * ``recompute=False``: a rolling key/value cache. Each token's keys (stored *before* rotation)
      and values are computed once, when it is read, and rotated to their cache positions at every
      step; needs rotary or no positions (learned positions are baked into the cached states).
    * ``recompute=True``: at every step the held tokens are run again from scratch at positions
      ``0 .. n-1`` (the sliding window with re-computation: exact, and ``cache`` times dearer).

    In a one-layer model the two agree exactly (keys and values depend on the token alone).
    """
    if not isinstance(model, TinyGPT) or not model.causal:
        raise ValueError("streaming needs a causal TinyGPT")
    if model.sink is not None:
        raise ValueError("streaming_logits does not handle a learnable sink token (sink_token=True); "
                         "keep the stream's first tokens with sinks= instead")
    model._check_ids(ids)
    integer("cache", cache)
    integer("sinks", sinks, 0)
    if sinks >= cache:
        raise ValueError(f"sinks={sinks} must leave room in the cache for the current token (cache={cache})")
    if recompute:
        if model.pos is not None and cache > model.max_len:
            raise ValueError(f"cache={cache} exceeds max_len={model.max_len} (learned positions)")
        return _recomputed(model, ids, cache, sinks)
    if model.positions == "learned":
        raise ValueError("a rolling cache re-indexes positions, which needs positions='rotary' or 'none' "
                         "(learned positions are added to the input and baked into the cached states); "
                         "use recompute=True")
    B, T = ids.shape
    keys: list[torch.Tensor | None] = [None] * len(model.blocks)
    values: list[torch.Tensor | None] = [None] * len(model.blocks)
    out = []
    for t in range(T):
        if keys[0] is not None and keys[0].shape[2] == cache:                 # evict the oldest non-sink token
            keys = [torch.cat([k[:, :, :sinks], k[:, :, sinks + 1:]], 2) for k in keys]
            values = [torch.cat([v[:, :, :sinks], v[:, :, sinks + 1:]], 2) for v in values]
        x = model.tok(ids[:, t:t + 1])                                         # [B, 1, d]
        n = 1 if keys[0] is None else keys[0].shape[2] + 1
        places = torch.arange(n, device=ids.device).expand(B, n)               # re-indexed: 0 .. n-1
        for layer, block in enumerate(model.blocks):
            h, q, k, v = block.project(x)
            keys[layer] = k if keys[layer] is None else torch.cat([keys[layer], k], 2)
            values[layer] = v if values[layer] is None else torch.cat([values[layer], v], 2)
            k_all = keys[layer]
            if model.positions == "rotary":
                q, k_all = rotate(q, places[:, -1:]), rotate(k_all, places)
            x, _ = block.attend(x, h, q, k_all, values[layer],
                                torch.ones(B, 1, n, dtype=torch.bool, device=ids.device))
        out.append(model.head(model.ln_f(x)))
    return torch.cat(out, 1)


def _recomputed(model: TinyGPT, ids: torch.Tensor, cache: int, sinks: int) -> torch.Tensor:
    B, T = ids.shape
    head = model(ids[:, :cache])                                            # nothing evicted yet: one causal pass
    if T <= cache:
        return head
    recent = cache - sinks
    t = torch.arange(cache, T, device=ids.device)                           # steps that evicted something
    held = torch.cat([torch.arange(sinks, device=ids.device).expand(len(t), sinks),
                      t[:, None] - recent + 1 + torch.arange(recent, device=ids.device)], 1)   # [T - cache, cache]
    contexts = ids[:, held].reshape(-1, cache)                              # [B·(T - cache), cache]
    last = torch.cat([model(chunk)[:, -1] for chunk in contexts.split(4096)])
    return torch.cat([head, last.view(B, len(t), -1)], 1)
