"""Guide page: how to read the Train page, what healthy training looks like, experiments to try."""
import streamlit as st

st.title("Guide")
st.markdown("""
### Reading the Train page
- **Losses**: D's loss is the sum of its real term (dotted) and fake term (dashed). With the BCE losses a
  balanced game sits near **D loss ≈ 1.0–1.6** (each term ~0.5–0.8) and **G loss ≈ 1–2**.
- **Discriminator accuracy** on real and on fake samples: the green band (70–80%) is the healthy zone.
- **D(x) and D(G(z))**: D's average belief that real and generated samples are real (a probability for
  the minimax, non-saturating and DRAGAN losses; a raw score for WGAN and hinge).
- **Data space** (2D data): the background is D's output over the plane (blue: D says "real", red: D says "fake"),
  green dots are real samples, purple dots generated ones; the black strokes show where G's loss pushes
  each generated point — the generator follows D's gradient.
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

### Failure signatures
| What you see | What it means | Try |
|---|---|---|
| D accuracy ≈ 100%, D loss → 0 for a long time | D won: G's gradient vanishes (worst with the minimax loss) | non-saturating loss, instance noise, lower D learning rate, label smoothing |
| G loss oscillates, fake accuracy high, samples near-identical, modes covered drops | mode collapse | R1 penalty, WGAN-GP, more D steps, smaller learning rates |
| Losses become NaN | divergence: the run pauses itself | **Roll back** to the last good snapshot, lower the learning rates, go on |

### Experiments for a lecture
1. **ring8** preset, Start: all 8 modes appear within ~3,000 steps. Now switch the loss to *minimax* and the
   learning rate to 1e-2 while it runs.
2. **ring8_collapse**: the original GAN on the ring — watch the purple points jump between modes.
3. Set **D steps per G step** to 5 and watch D's accuracy and G's gradient arrows.
4. **Instance noise** 0.3: the heatmap blurs and D's accuracy falls into the healthy band.
5. Push G's learning rate to 1.0 until the run diverges; press **Roll back**, halve the rate and resume.
6. **digits** preset: an MLP GAN learning 8×8 digits in about a minute on a laptop; **Step** through it one
   iteration at a time, or do a *D step only* a few times and see G's loss jump.

### Teaching with it (lecture mode)
Start the app with `GAN_PLAYGROUND_PRESENTER_TOKEN=<secret> streamlit run app.py --server.address 0.0.0.0`
and give the class `http://<your-ip>:8501`: they watch your run live, read-only (the Latent lab and the
charts still work for them); you enter the token in the sidebar to control it. Settings travel in links:
`?preset=grid25&lr_g=0.0005&loss=hinge` opens that run. Runs autosave to `runs/<id>/`; after a restart
the same link brings the run back.
""")
