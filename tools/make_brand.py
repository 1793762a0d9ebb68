"""Draw the integration's brand images (custom_components/ipoffice/brand/), reproducibly, with Pillow.

Usage: .venv/bin/python tools/make_brand.py
A handset in a rounded square (icon) and the handset beside the words "IP Office" (logo); dark variants for dark
themes. Our own drawing: no Avaya artwork is used.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "custom_components" / "ipoffice" / "brand"
RED = (196, 18, 48, 255)
WHITE = (255, 255, 255, 255)
INK = (33, 33, 33, 255)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def handset(draw: ImageDraw.ImageDraw, x: float, y: float, size: float, color: tuple[int, ...]) -> None:
    """A telephone handset: a thick arc (the grip) with an earpiece and a mouthpiece at its ends."""
    width = size * 0.16
    box = (x + size * 0.08, y + size * 0.08, x + size * 0.92, y + size * 0.92)
    draw.arc(box, start=100, end=260, fill=color, width=round(width))
    for angle_box in (
        (x + size * 0.30, y + size * 0.02, x + size * 0.62, y + size * 0.26),
        (x + size * 0.30, y + size * 0.74, x + size * 0.62, y + size * 0.98),
    ):
        draw.rounded_rectangle(angle_box, radius=size * 0.08, fill=color)


def icon(size: int, background: tuple[int, ...], foreground: tuple[int, ...]) -> Image.Image:
    """The square icon."""
    scale = 4  # draw large, then downsample for smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=background)
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    handset(ImageDraw.Draw(layer), big * 0.3, big * 0.19, big * 0.62, foreground)
    image.alpha_composite(layer.rotate(45, resample=Image.Resampling.BICUBIC, center=(big * 0.5, big * 0.5)))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int, text_color: tuple[int, ...]) -> Image.Image:
    """The handset icon and "IP Office", on a transparent background."""
    scale = 4
    big = height * scale
    font = ImageFont.truetype(FONT, round(big * 0.5))
    text = "IP Office"
    left, top, right, bottom = font.getbbox(text)
    width = big + big // 6 + (right - left) + big // 6
    image = Image.new("RGBA", (width, big), (0, 0, 0, 0))
    image.alpha_composite(icon(big, RED, WHITE))
    draw = ImageDraw.Draw(image)
    draw.text((big + big // 6 - left, (big - (bottom - top)) / 2 - top), text, font=font, fill=text_color)
    return image.resize((width // scale, height), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every brand image."""
    OUT.mkdir(parents=True, exist_ok=True)
    icon(256, RED, WHITE).save(OUT / "icon.png", optimize=True)
    icon(512, RED, WHITE).save(OUT / "icon@2x.png", optimize=True)
    icon(256, WHITE, RED).save(OUT / "dark_icon.png", optimize=True)
    icon(512, WHITE, RED).save(OUT / "dark_icon@2x.png", optimize=True)
    logo(128, INK).save(OUT / "logo.png", optimize=True)
    logo(256, INK).save(OUT / "logo@2x.png", optimize=True)
    logo(128, WHITE).save(OUT / "dark_logo.png", optimize=True)
    logo(256, WHITE).save(OUT / "dark_logo@2x.png", optimize=True)


if __name__ == "__main__":
    main()
