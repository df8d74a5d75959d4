"""Every change of the community app: named, keyword-only functions taking `actor=`."""
