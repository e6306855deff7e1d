"""Pictures people look at: report.png, wrinkles.png, avatar.png and OpenHead's contact sheet."""
