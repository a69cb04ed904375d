"""Guide page: how to read the Train page, what healthy training looks like, experiments to try."""
import streamlit as st

import ui  # noqa: F401  (every page imports ui: see ui/__init__.py)

st.title("Guide")
st.markdown("""
### Reading the Train page
- **The control bar**: Start / Pause (Resume goes on with nothing lost), Step (one iteration: D steps then one
  G step), ×10 and ×100 (that many iterations, then a pause), ⋮ for a D-only or G-only step and a link to
  these settings, the **speed** (1, 5, 20, 100 steps per second for narrating, or max), **pause at** a step,
  Reset (a *new* run with fresh weights; the old one is kept under **Runs**), Save, Setup, and **Present**
  (no header, bigger text: for a projector; `?present=1` in a link does the same).
- **Numbers**: step, speed, the newest losses, D's accuracy on real and on fake samples, the size of G's
  gradient (near 0: G has stopped learning) and, for the ring and grid, the modes covered.
- **The model strip** under the numbers: z → G → G(z) → D → p(real), real x joining at D, as GAN Lab draws
  it, with the newest iteration's values (each network's loss and gradient norm ∇, D's mean output on real and
  on fake samples). The network being updated is lit, the other is *frozen*, and the coloured arrow under the
  flow is the gradient: in the **D step** (blue) it runs from D's verdict back into D only (G's samples are
  detached); in the **G step** (red) it runs back through D, frozen, into G. Families name their own parts
  (CycleGAN's G_AB + G_BA and D_B + D_A, BEGAN's autoencoder D and its reconstruction error).
  *Try*: choose speed **1/s** and press **Start**. Each second the strip walks through one iteration: half a
  second of D step, then half a second of G step (with **D steps per G step** = 3, three D steps first). It
  runs ¾ s behind the numbers, so that every phase is on screen in full. The D step shows D's new loss and ∇
  and its outputs on real and fake; G's values appear with the G step. Pause, then use ⋮ →
  **D step only** a few times: only D lights up, and G's loss shows "–". At 5/s or faster the strip says the
  steps are too fast to follow and shows the newest values.
- **Losses**: D's loss is the sum of its real term and fake term (dotted). With the BCE losses a balanced
  game sits near **D loss ≈ 1.0–1.6** (each term ~0.5–0.8) and **G loss ≈ 1–2**.
- **JS divergence** (the black line *JS* in the Losses panel, for 1D and 2D point data): how far the generated points are
  from the real ones on a 30×30 grid histogram, measured every *metrics every* steps on 2,500 samples, in nats
  like the losses: 0 means the same distribution, ln 2 ≈ 0.69 two sets that never meet. The losses can sit
  still while JS falls (G learning) or stays near 0.6 (a collapsed G): the number loss curves do not give.
- **D accuracy** on real (green) and on fake (purple) samples: the shaded band (70–80%) is the healthy zone.
- **D's mean outputs**: D(x) on real and D(G(z)) on generated samples (a probability for the minimax,
  non-saturating and DRAGAN losses; a raw score for WGAN and hinge).
- **Data space** (2D data): the background is D's output over the plane (blue: D says "real", red: D says
  "fake"; for WGAN and hinge the critic's raw score), green dots are real samples, purple dots generated
  ones; the arrows show where G's loss pushes each generated point — the generator follows D's gradient.
  The view widens when generated points wander off, and says how many are still outside.
- **Mode coverage** (ring and grid data): how many of the mixture's modes have at least one sample within
  3 standard deviations, and what fraction of samples is that close to a mode.

### Latent lab
- **Sliders**: move one latent dimension at a time, or move along the *principal directions* — latent
  directions that change the output the most (PCA of many generated samples, as GANSpace does). The R²
  beside each says how linear that direction is in z.
- **Interpolation**: linear paths cut through the middle of the Gaussian prior, where the generator saw
  few samples; spherical paths (slerp) stay where the prior has its mass. Download the walk as a GIF.
- **Arithmetic**: pick three samples for each of A, B, C; the average of each group is used
  (DCGAN paper). For digits, class means of z work too: "mean 7 − mean 1 + mean 4".
- **Truncation ψ** pulls z towards the origin: fewer odd samples, less variety.

### Diagnostics
- **Coverage**: modes (ring, grid) or classes (digits, by the shipped classifier) that the generator
  still produces, over time. A drop means mode collapse.
- **Spread ratio**: how far apart generated samples are compared with real ones; below 0.5 the samples
  look alike.
- **Memorisation**: each sample beside the nearest training image. If distances are far below the
  typical distance between two real images, the generator copies.
- **Quality metrics**: the Fréchet distance means little alone — compare it with the *real vs real*
  floor at the same sample count. Precision ≈ realism, recall ≈ variety.

### The generator's manifold
- The **Manifold** page (1D and 2D toy data) draws G as a map. Left, a 21×21 grid over [-2.5, 2.5]² of the
  latent plane; right, where G sends it, over D's heatmap. Each coloured line is one value of z1 (blue −2.5 →
  red +2.5); grey lines hold z2 fixed, and the dotted black line is z2 = 0. Follow one line from the left
  panel to the right one. With more than two latent dimensions the grid lies on the plane of the two principal
  directions through z = 0. On 1D data (`gauss1d`) each latent value z is joined to G(z), and where the lines
  crowd together G puts much density.
- **JS and KL** compare real and generated points on a 30×30 histogram of the data bounds, plus one cell for
  points outside them. JS runs from 0 to ln 2 ≈ 0.69 (sets that do not overlap at all). KL(real ‖ fake) grows
  when G misses data, KL(fake ‖ real) when G puts points where there are no data. The green dotted line is real
  against real at the same count, which is as low as this estimate can go.
- *Try*: `ring8` next to `?preset=ring8_collapse` in a second tab, both on this page. In our runs `ring8`
  had stretched the grid onto all eight modes, with thin threads between them, by step 3,300. Its JS read
  0.05–0.07 between steps 2,500 and 8,000. `ring8_collapse` folded the whole grid into a small sheet near one or two
  modes, which drifted around the ring. Its JS stayed at 0.58–0.66 and both KLs at 7–9 from step 2,400 to 8,100.

### Draw your own data
- **Setup → Data → Dataset *drawn*** opens a canvas (−4 to 4 on both axes): a click places a point, a drag draws
  a stroke (a point every 0.1), with **Undo**, **Clear** and starter shapes (smiley, heart, GAN, three dots).
  **Start new run** trains a new run on the drawing. Training picks drawn points at random and adds Gaussian
  jitter (*Jitter std*, 0.05 by default), so every drawn point carries the same weight. Diagnostics shows
  **On the drawing** (generated points within 3 jitter stds of a drawn point) and **Drawing covered** (drawn
  points with a generated point that near). The `drawn` preset starts from the smiley. From the command line:
  `python -m gan_core train --preset drawn --set "points=0,0;1,1;2,0"`.
- *Try* (what counts is mass, not shape): on the default `ring8` run, choose *drawn*, click two single points
  near the top corners and drag one long stroke across the bottom, then **Start new run** and **Start**. The
  stroke holds about 33 points to the dots' one each, so the dots are about 6% of the data. In our runs
  (3,000 steps, seeds 0–2) G covered the stroke and left both dots empty every time: missing them costs G
  little. Then open Setup again (it shows the run's drawing), click each dot about 15 more
  times (every click adds a point there) and start a new run: with the dots at half the data, G reached both in
  two of three runs and one of them in the third.

### Upsampling
- The **Upsampling** page writes a transposed convolution as the transpose of a convolution's matrix.
  *Try*: start from the lecture's 2×2 → 4×4 example and compare Cᵀ with the slide; then pick *kernel 3,
  stride 2*: the overlap counts alternate 1, 2, 1, 2 and the verdict says **Uneven** — the checkerboard of
  Odena et al. 2016. Raise the kernel to 4: **Even**. The stack of layers on the right shows how the pattern
  compounds in an untrained generator.
- **Untrained generators**: what a freshly initialised DCGAN generator of each upsampling kind draws from a
  constant input. *Try*: at 32 px both transposed kinds repeat every 8 pixels (three transposed layers: a
  period of 2, doubled twice), *mixed* every 4 (transposed in its last two layers only) and *resize* is flat
  inside. So kernel 4 with stride 2 is not free of checkerboards: its overlap counts are even, but each output
  phase meets different kernel weights, and training must learn to balance them. Switch the input to *random
  z*: the blobs hide the pattern from the eye, not from the number under each picture.
- **Spectrum of the current run**: on an image run, the generated images' frequency spectrum beside the
  real ones'. *Try*: train `mnist` with Setup → Model → Upsampling *transposed*, then a second run with
  *resize*, and compare the high-frequency excess at the same step: in our runs (three seeds) the transposed one
  was higher at every mark from step 1,000 to 2,000, at step 500 it was lower. Then *transposed3* (kernel 3): its
  digits come slowly, and in two of three runs the last point of the radial curve (the period-2 corner) rose
  above the real images' by step 2,000 — the checkerboard, also visible in the grey background of its samples.

### Turing test
- The **Turing test** page shows one image at a time, a real training image or a generated one with equal
  odds; answer **Real** or **Fake**. The score is **HYPE∞** (Zhou et al. 2019): the share of images judged
  wrongly over equal numbers of both, with a 95% interval. 50% means nobody can tell; the galleries show
  the generated images that fooled you and the real ones you called fake. No image appears twice in a round.
- *Try*: play a round of 20 on `digits` at step 200, and again at step 3,000: the error rate climbs towards
  50% as G learns, while the loss curves say little. Then play on an MNIST checkpoint (Generator →
  *Checkpoint*): is the interval still clear of 50%?
- **With a class** (lecture mode): the presenter presses *Start the class round*; every laptop on the Turing
  test page votes on the same image; the projector shows only the number of votes until you press
  **Reveal**, then the split and the share of the class that was fooled; **Next image** moves everyone on.
  A vote counts once per browser (a refresh does not vote again), rounds are kept in the run's folder and
  come back after a restart, and the strip at the end shows every image with the share of the class it fooled.

### Failure signatures
| What you see | What it means | Try |
|---|---|---|
| D accuracy ≈ 100%, D loss → 0 for a long time | D won: G's gradient vanishes (worst with the minimax loss) | non-saturating loss, instance noise, lower D learning rate, label smoothing |
| G loss oscillates, fake accuracy high, samples near-identical, modes covered drops | mode collapse | R1 penalty, WGAN-GP, more D steps, smaller learning rates |
| Losses become NaN | divergence: the run pauses itself | **Roll back** to the last good snapshot, lower the learning rates, go on |

### Experiments for a lecture
Each one opens from a link (or **Setup → Preset → Start new run**), then **Start**.
1. **All the modes** — `ring8` (the default): **Modes** reaches **8/8** within about 3,000 steps (10–20 s on a
   laptop CPU); the purple points spread onto all eight green clusters.
2. **Mode collapse, hopping** — `?preset=ring8_collapse` (the original minimax loss, G learning 3× faster
   than D, as in Metz et al. 2017, Fig. 1): the purple points bunch on one to three modes and jump to others
   every few hundred steps; **Modes** stays at 0–3 (0 while the bunch travels between modes).
3. **D wins, G's gradient vanishes** — `?preset=ring8_dwins` (minimax, a wide fast D): within about 300
   steps D's accuracy reads 100% on real and fake, **G grad norm** falls to about 0.0001 and the alert
   *The discriminator is winning* appears. While it runs, set **Loss** to *non_saturating*: G's gradient
   norm comes back (to about 10) and the points move again.
4. **Divergence and Roll back** — `?preset=ring8_sgd` (plain SGD, lr 0.02): let it train a few hundred steps,
   then set **G learning rate** and **D learning rate** to **1.0**. Within a few steps the losses become
   NaN/Inf: *Training diverged*, the run pauses itself and offers **Roll back**. Press it, set both rates
   back to 0.02 and **Resume**: it trains on.
5. **One iteration at a time** — on any run, choose speed **1/s** and press **×10**: one iteration a second
   (the points and arrows move at each), and it pauses by itself after ten.

### The GAN family
**Setup → Model → Kind of GAN** (or a preset below) picks the family; each brings its own live charts under
the training charts, and its own live settings beside the others. `python -m gan_core evaluate` reports
each family's figure.
- **Conditional GAN** (`?preset=digits_cgan`) — G and D both see the label. *Look at*: the sample grid
  asks for the classes in turn (left to right, row after row: 0, 1, … 9, 0, 1, …). *Try*: Latent lab → Sliders, pick a class,
  move z: the digit keeps its class and changes its style. `evaluate`'s **class_agreement** (the shipped
  classifier agrees with the class asked for) reaches about 0.99 on the 8×8 digits.
- **AC-GAN** (`?preset=digits_acgan`) — D has no label input but names the class of every image.
  *Look at*: **Auxiliary classifier accuracy** — on real images and on G's images it climbs to ~100%
  within the first hundred steps; class_agreement follows more slowly (≈ 0.96 by step 4,000). *Try*: after
  4,000 steps set **Class-head weight** to 0: nothing makes G keep its classes any more and class_agreement
  falls to about 0.7 within a thousand steps (measured). On MNIST (`?preset=mnist_acgan`) the pictures come
  from **G's running average** (live setting *Averaged G decay*, 0.999). *Try*: set it to 0 and the grid
  shows the training G, whose class_agreement swung between 0.75 and 0.91 from one two-minute mark to the
  next in a measured run, where the average held 1.000; set it back to 0.999 (it restarts from that moment's G).
- **InfoGAN** (`?preset=digits_infogan`, `?preset=mnist_infogan`) — nobody tells it the classes: G gets a
  10-way code and two continuous codes and must make them readable from its images. *Look at*: the
  **mutual information bound** rising towards the dashed log 10 = 2.30 nats. *Try*: Latent lab → **Codes**:
  rows are the categorical code — after a few thousand steps most rows hold one digit — and columns sweep
  the continuous code c1; drag c1 and c2 on the right and see what they learned to steer.
  **code_purity** (code vs the classifier's label after the best one-to-one matching; chance about 0.1)
  reaches about 0.85 on the 8×8 digits in 2,000 steps.
- **BEGAN** (`?preset=digits_began`) — D is an autoencoder; G wins when its images reconstruct as well as
  real ones. *Look at*: **M_global** falls as the images improve (the paper's convergence measure, a curve a
  plain GAN's losses do not give) and **k_t** rises from 0 and settles. *Try*: **BEGAN gamma** sets how
  varied G must be (the paper: higher is more varied, lower sharper); the preset's 0.9 made all ten
  digits by step 8,000, while with ReLU networks 0.7 gave three or four of the ten and 1.0 nine (measured).
- **Unrolled GAN** (`?preset=ring8_unrolled`, beside `?preset=ring8_collapse` in a second tab) — the same
  settings, but G is scored by D five updates into the future, with the gradient through those updates.
  *Look at*: **Modes** reaches 8/8 within about 3,000 steps where the plain run hops between one and three.
  *Try*: once it is spread, set **Unroll D steps** to 0: it stays spread. Start one with 0 instead and raise
  it to 5 once it has collapsed: it stays collapsed (measured over 4,000 more steps). Unrolling helps G
  find the modes early; it does not pull a collapsed G apart.
- **CycleGAN** (`?preset=cycle_toy`, `?preset=cycle_ink`, `?preset=cycle_digits_mnist`) — no noise and no
  pairs: G_AB translates a sample of domain A (Setup → **Domain A**) into the dataset's domain B, G_BA
  translates back, one D per domain, and the round trip A → B → A must come back to where it started.
  *Look at*: on points, orange domain A (a line) and arrows to where G_AB sends each point: within about
  1,000 steps they land on the parabola, in order along it; on images, the strip's rows in threes (A,
  A → B, A → B → A) and the **Cycle consistency** chart falling (8×8 ink: 0.63 over the first 20 steps, 0.09 by step 500). *Try*:
  Latent lab → upload a picture of your own digit and translate it, both ways. Set **Cycle weight** to 0
  after 500 steps of `cycle_ink`: the translations still look right (a convolution keeps each stroke in
  place) but the round-trip error creeps up (0.09 → 0.16 over 1,000 steps, measured). Domain A = `spiral`
  with B = `line` is harder: unrolling a spiral, its A → B → A error stays near 0.1 after 4,000 steps where
  line → parabola reaches 0.01. `evaluate` reports **label_kept** for digits → MNIST: how often MNIST's
  classifier names the translation as the source digit.
- **PacGAN and minibatch std** (Setup → Model; `?preset=grid25_pacgan`) — options of D, not families:
  D judges packs of samples, or sees the batch's spread, so a collapsed G is easy to spot. On the grid of
  25 without R1, PacGAN4 covers more modes than the plain D but needs long runs for sharp modes.

### Teaching with it (lecture mode)
Start the app with
`GAN_PLAYGROUND_PRESENTER_TOKEN=<secret> streamlit run app.py --server.address 0.0.0.0 --server.allowedHosts <your-ip>`
and give the class `http://<your-ip>:8501`: they watch your run live, read-only (the Latent lab and the
charts still work for them); you enter the token under **Presenter sign-in** to control it. Settings travel
in links: `?preset=grid25&lr_g=0.0005&loss=hinge` opens that run (⋮ → link copies the current one). Runs
autosave to `runs/<id>/`; after a restart the same link brings the run back. For a whole class (more than a
handful of laptops), press ⋮ → **Train in its own process** before they join: the run trains on in a process
of its own and everyone watches it on the **Watch** page, where you pause, resume or stop it; the class then
costs the app's server, not your run's speed. The live hyperparameters are below the picture there too, so the
experiments above that change a setting mid-run (the loss, the learning rates) work on a handed-off run.
""")
